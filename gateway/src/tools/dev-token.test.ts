import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../auth/token-verifier.js';
import { loadConfig } from '../config/config.js';
import { DevTokenError, loadOrCreateDevSecret, mintDevToken } from './dev-token.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orgcast-dev-token-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadOrCreateDevSecret', () => {
  it('creates the secret once (folders included, mode 0600) and then reuses it', async () => {
    const file = join(dir, 'nested', 'deeper', 'jwt-secret');
    const created = await loadOrCreateDevSecret(file);
    expect(created).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateDevSecret(file)).toBe(created);
    expect((await readFile(file, 'utf8')).trim()).toBe(created);
  });

  it('gives concurrent first callers one secret', async () => {
    const file = join(dir, 'jwt-secret');
    const secrets = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateDevSecret(file)));
    expect(new Set(secrets).size).toBe(1);
  });

  it('refuses a file that holds too short a secret', async () => {
    const file = join(dir, 'jwt-secret');
    await writeFile(file, 'short\n');
    await expect(loadOrCreateDevSecret(file)).rejects.toBeInstanceOf(DevTokenError);
  });
});

describe('mintDevToken', () => {
  it('round-trips through the verifier the gateway builds from its embedded-mode config', async () => {
    const config = loadConfig({ DEV_SECRET_FILE: join(dir, 'jwt-secret') });
    expect(config.auth.devSecretFile).toBeDefined();
    const secret = await loadOrCreateDevSecret(config.auth.devSecretFile ?? '');
    const verifier = createTokenVerifier({ ...config.auth, secret });
    const token = await mintDevToken({ secret, userId: 'alice', organizations: ['acme', 'globex'], ttlSeconds: 3_600, scopes: ['events:publish'] });
    const principal = await verifier.verify(token);
    expect(principal).toMatchObject({ userId: 'alice', organizations: ['acme', 'globex'], scopes: ['events:publish'] });
    expect(principal.expiresAtMs - (principal.issuedAtMs ?? 0)).toBe(3_600_000);
  });

  it('sets issuer, audience and issuedAt when asked', async () => {
    const secret = 's'.repeat(40);
    const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const verifier = createTokenVerifier({
      secret, jwksCacheMs: 600_000, jwksCooldownMs: 30_000, clockToleranceSeconds: 0, orgClaim: 'org_ids', maxTokenBytes: 8_192,
      issuer: 'https://issuer.test', audience: 'orgcast',
    });
    const token = await mintDevToken({ secret, userId: 'bob', organizations: [], ttlSeconds: 120, issuer: 'https://issuer.test', audience: 'orgcast', issuedAt });
    expect(await verifier.verify(token)).toEqual({ userId: 'bob', organizations: [], scopes: [], issuedAtMs: issuedAt.getTime(), expiresAtMs: issuedAt.getTime() + 120_000 });
  });

  it('refuses unusable input', async () => {
    const ok = { secret: 's'.repeat(40), userId: 'alice', organizations: ['acme'], ttlSeconds: 60 };
    await expect(mintDevToken({ ...ok, userId: '' })).rejects.toBeInstanceOf(DevTokenError);
    await expect(mintDevToken({ ...ok, ttlSeconds: 0 })).rejects.toBeInstanceOf(DevTokenError);
    await expect(mintDevToken({ ...ok, ttlSeconds: 1.5 })).rejects.toBeInstanceOf(DevTokenError);
    await expect(mintDevToken({ ...ok, organizations: [''] })).rejects.toBeInstanceOf(DevTokenError);
  });
});
