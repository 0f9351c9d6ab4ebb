import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, spawnGateway, type GatewayProcess } from '../../test/harness/gateway-process.js';

/**
 * The README's shell blocks marked `<!-- readme-test: NAME -->`, run as written in the repository
 * root. Two substitutions only: the gateway runs its TypeScript entry point instead of `npm start`
 * (which builds first), on a free port instead of 8081; and the run has its own Redis key prefix
 * and exchange.
 */
const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

function block(name: string): string {
  const match = new RegExp(String.raw`<!-- readme-test: ${name} -->\n\x60\x60\x60sh\n([\s\S]*?)\x60\x60\x60`).exec(README);
  if (match?.[1] === undefined) throw new Error(`README.md has no shell block marked readme-test: ${name}`);
  return match[1];
}

interface Run { code: number; stdout: string; stderr: string }

function bash(script: string, env: Record<string, string>, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile('bash', ['-euo', 'pipefail', '-c', script], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

/** The client block against `port`; the backgrounded client is stopped a second after the publish. */
const clientScript = (port: number): string => `${block('client').replaceAll('127.0.0.1:8081', `127.0.0.1:${port}`)}\nsleep 1\nkill $! 2>/dev/null || true\n`;

function expectDelivered(run: Run): void {
  expect(run.code, run.stderr).toBe(0);
  const frames = run.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(frames.map((f) => f.event_type), run.stdout).toEqual(['connection.established', 'task.event.created']);
  expect(frames[1]).toMatchObject({ organization_id: 'acme', data: { id: 't-1', title: 'Write the docs' } });
}

describe('README commands, verbatim', () => {
  const isolation = { REDIS_KEY_PREFIX: `orgcast-readme-${randomBytes(3).toString('hex')}:`, AMQP_EXCHANGE: `orgcast-readme-${randomBytes(3).toString('hex')}` };
  const gateways: GatewayProcess[] = [];
  let dir: string | undefined;
  afterAll(async () => {
    for (const gateway of gateways) gateway.kill('SIGKILL');
    await Promise.all(gateways.map((g) => g.exited));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('quick start: an embedded gateway, a token, a client and a published event', { timeout: 60_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'orgcast-readme-'));
    const devSecret = { DEV_SECRET_FILE: join(dir, 'jwt-secret') };
    const gateway = await spawnGateway(devSecret, { timeoutMs: 30_000 });
    gateways.push(gateway);
    expectDelivered(await bash(clientScript(gateway.port), { ...devSecret, PORT: String(gateway.port) }));

    // A shell with another secret: the CLI says what to set.
    const wrong = await bash('npm run -s publish -- --org acme', { JWT_SECRET: 'x'.repeat(40), PORT: String(gateway.port) });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/answered 401/);
    expect(wrong.stderr).toContain('set the JWT_SECRET it runs with in this shell');
  });

  it('with RabbitMQ and Redis: the gateway block, then the client block in a shell with the documented exports', { timeout: 90_000 }, async () => {
    const start = block('connected-gateway').replace(/^npm start$/m, 'exec node --import tsx gateway/src/main.ts');
    expect(start).toContain('exec node');
    const gateway = await spawnGateway(isolation, { command: ['bash', '-euo', 'pipefail', '-c', start], timeoutMs: 40_000 });
    gateways.push(gateway);
    const shell = { ...isolation, PORT: String(gateway.port) };
    expectDelivered(await bash(`${block('connected-shell')}\n${clientScript(gateway.port)}`, shell, 60_000));

    // A shell without the exports: the token is refused, and publish says to set AMQP_URL.
    const bare = await bash('npm run -s publish -- --org acme', shell);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/answered 404/);
    expect(bare.stderr).toContain('Set the same AMQP_URL');
  });
});
