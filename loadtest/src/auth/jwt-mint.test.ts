import { createPublicKey } from 'node:crypto';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenMinter, generateEs256KeyPair } from './jwt-mint.js';

describe('createTokenMinter', () => {
  it('mints HS256 tokens that jose accepts', async () => {
    const secret = 'a-loadtest-secret-that-is-long-enough-123';
    const token = createTokenMinter({ alg: 'HS256', secret }).mint({ sub: 'u1', orgIds: ['a', 'b'], ttlSeconds: 60 });
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(secret));
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.sub).toBe('u1');
    expect(payload.org_ids).toEqual(['a', 'b']);
    expect(payload.exp! - payload.iat!).toBe(60);
  });

  it('mints ES256 tokens verifiable with the SPKI public key', async () => {
    const keys = generateEs256KeyPair();
    expect(keys.publicKeyPem).toContain('-----BEGIN PUBLIC KEY-----');
    const token = createTokenMinter({ alg: 'ES256', privateKeyPem: keys.privateKeyPem }).mint({ sub: 'u2', orgIds: ['c'], ttlSeconds: 30, scope: 'events:publish' });
    const { payload, protectedHeader } = await jwtVerify(token, createPublicKey(keys.publicKeyPem));
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.scope).toBe('events:publish');
  });

  it('rejects nothing silently: a token signed with another secret fails verification', async () => {
    const token = createTokenMinter({ alg: 'HS256', secret: 'x'.repeat(40) }).mint({ sub: 'u', orgIds: [], ttlSeconds: 5 });
    await expect(jwtVerify(token, new TextEncoder().encode('y'.repeat(40)))).rejects.toThrow();
  });
});
