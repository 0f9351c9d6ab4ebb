import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../auth/token-verifier.js';

const cli = fileURLToPath(new URL('./token-cli.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));

interface Run { code: number; stdout: string; stderr: string }

function run(args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(tsx, [cli, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orgcast-token-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = { jwksCacheMs: 600_000, jwksCooldownMs: 30_000, clockToleranceSeconds: 5, orgClaim: 'org_ids', maxTokenBytes: 8_192 };

describe('token CLI', () => {
  it('prints only a token signed with the dev secret file, honouring JWT_ISSUER', async () => {
    const result = await run(['--user', 'alice', '--org', 'acme', '--org', 'globex', '--ttl', '120', '--scope', 'events:publish'], { JWT_ISSUER: 'https://dev.test' }, dir);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const secret = (await readFile(join(dir, '.orgcast-dev', 'jwt-secret'), 'utf8')).trim();
    const principal = await createTokenVerifier({ ...options, secret, issuer: 'https://dev.test' }).verify(result.stdout.trim());
    expect(principal).toMatchObject({ userId: 'alice', organizations: ['acme', 'globex'], scopes: ['events:publish'] });
    expect(principal.expiresAtMs - (principal.issuedAtMs ?? 0)).toBe(120_000);
  });

  it('uses JWT_SECRET when set', async () => {
    const secret = 'x'.repeat(40);
    const result = await run(['--user', 'bob'], { JWT_SECRET: secret, DEV_SECRET_FILE: join(dir, 'unused') }, dir);
    expect(result.code).toBe(0);
    expect((await createTokenVerifier({ ...options, secret }).verify(result.stdout.trim())).userId).toBe('bob');
  });

  it('exits 2 with usage on stderr for bad arguments', async () => {
    const results = await Promise.all([['--org', 'acme'], ['--user', 'a', '--ttl', 'soon'], ['--user', 'a', '--bogus']].map((args) => run(args, {}, dir)));
    for (const result of results) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('usage:');
    }
  });
});
