import { describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../auth/token-verifier.js';
import { createMemoryMembershipStore } from '../membership/memory-membership-store.js';
import { StoreUnavailableError } from '../stores/store-unavailable-error.js';
import { mintDevToken } from '../tools/dev-token.js';
import { createTokenRefresher, refreshInMs } from './token-refresh.js';

const SECRET = 'a-development-secret-of-at-least-32-chars';
const verifier = createTokenVerifier({ secret: SECRET, jwksCacheMs: 600_000, jwksCooldownMs: 30_000, clockToleranceSeconds: 5, orgClaim: 'org_ids', maxTokenBytes: 8_192 });
const mint = (userId: string, organizations: string[], issuedAt?: Date): Promise<string> => mintDevToken({ secret: SECRET, userId, organizations, ttlSeconds: 600, issuedAt });

describe('createTokenRefresher', () => {
  it('accepts a valid token of the same user, with its organizations once membership changes apply', async () => {
    const membership = createMemoryMembershipStore({ ttlSeconds: 3_600 });
    await membership.recordRemoved('b', 'u1', Date.now() + 60_000);
    const refresh = createTokenRefresher({ verifier, membership, storeLoss: () => undefined });
    const check = await refresh('u1', await mint('u1', ['a', 'b']));
    expect(check).toMatchObject({ ok: true, organizations: ['a'], principal: { userId: 'u1' } });
  });

  it('refuses another user\'s token, a bad token, one from before a loss of the store, and says why when the store is away', async () => {
    const membership = createMemoryMembershipStore({ ttlSeconds: 3_600 });
    const refresh = createTokenRefresher({ verifier, membership, storeLoss: () => undefined });
    expect(await refresh('u1', await mint('u2', ['a']))).toEqual({ ok: false, message: 'the new token is for another user (sub); reconnect to change user' });
    expect(await refresh('u1', 'not-a-jwt')).toMatchObject({ ok: false });
    const lossAtMs = Date.now();
    const afterLoss = createTokenRefresher({ verifier, membership, storeLoss: () => ({ atMs: lossAtMs, untilMs: lossAtMs + 60_000 }) });
    expect(await afterLoss('u1', await mint('u1', ['a'], new Date(lossAtMs - 10_000)))).toMatchObject({ ok: false, message: expect.stringContaining('shared state was lost') });
    const away = createTokenRefresher({ verifier, membership: { effectiveOrganizations: async () => { throw new StoreUnavailableError('down'); } }, storeLoss: () => undefined });
    expect(await away('u1', await mint('u1', ['a']))).toMatchObject({ ok: false, message: expect.stringContaining('unavailable') });
  });
});

describe('refreshInMs', () => {
  it('asks for a refresh half-way through what is left, at most 30 s before exp', () => {
    expect(refreshInMs(10_000, 0)).toBe(5_000);
    expect(refreshInMs(3_600_000, 0)).toBe(3_570_000);
    expect(refreshInMs(1_000, 1_000)).toBe(0);
    expect(refreshInMs(500, 1_000)).toBe(0);
  });
});
