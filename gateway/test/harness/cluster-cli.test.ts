import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/ws-client.js';
import { freePort } from './free-port.js';
import { REPO_ROOT } from './gateway-process.js';
import { isAlive } from './process-tree.js';

const run = promisify(execFile);

/**
 * `npm run cluster -- --pods 3` exactly as the README has it (plus an isolated key prefix, exchange
 * and dev secret file), in its own process group so that SIGINT reaches npm, tsx and the script at
 * once, as a terminal's Ctrl-C does.
 */
describe('npm run cluster (the CLI)', () => {
  let dir: string | undefined;
  let group: number | undefined;
  afterAll(async () => {
    if (group !== undefined && isAlive(group)) process.kill(-group, 'SIGKILL');
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('starts with no JWT key set, prints the token command, and stops cleanly on Ctrl-C with clients connected', { timeout: 90_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'orgcast-cluster-cli-'));
    const run_id = randomBytes(3).toString('hex');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DEV_SECRET_FILE: join(dir, 'jwt-secret'),
      REDIS_KEY_PREFIX: `orgcast-cli-${run_id}:`,
      AMQP_EXCHANGE: `orgcast-cli-${run_id}`,
      CONNECT_RATE_BURST: '1000',
    };
    const port = await freePort();
    const child = spawn('npm', ['run', 'cluster', '--', '--pods', '3', '--port', String(port), '--name-prefix', `cli-${run_id}`], {
      cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    group = child.pid;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`${code ?? signal} after ${output.includes('stopped.') ? 'stopped.' : 'nothing'}`)));

    const started = Date.now();
    while (!output.includes('Ctrl-C stops everything') && Date.now() - started < 60_000 && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output).toContain('Ctrl-C stops everything');
    expect(output).toContain('npm run -s token -- --user alice --org acme');
    const temp = /temp files\s+(\S+)/.exec(output)?.[1];
    expect(temp, output).toBeDefined();
    expect(existsSync(temp!)).toBe(true);
    const managementUrls = [...output.matchAll(/management (http:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[1]!);
    expect(managementUrls).toHaveLength(3);

    // The printed token command, in the same environment, gives a token the pods accept.
    const { stdout: tokenText } = await run('npm', ['run', '-s', 'token', '--', '--user', 'alice', '--org', 'acme'], { cwd: REPO_ROOT, env });
    const token = tokenText.trim();
    const clients = await Promise.all([0, 1, 2].map(() => TestClient.established(`ws://127.0.0.1:${port}/api/ws?access_token=${token}`, token)));
    expect(clients.every((c) => c.frames[0]?.event_type === 'connection.established')).toBe(true);

    process.kill(-child.pid!, 'SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
    // npm itself got the SIGINT too and dies by it (as in a terminal), but only once the script is done.
    expect(code, output).toMatch(/^(0|SIGINT) after stopped\.$/);
    expect(output).not.toMatch(/second SIGINT/);
    expect(output).toContain('stopped.');
    expect(existsSync(temp!)).toBe(false);
    await Promise.all(clients.map((c) => c.closed));
    for (const url of managementUrls) {
      await expect(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })).rejects.toThrow();
    }
  });
});
