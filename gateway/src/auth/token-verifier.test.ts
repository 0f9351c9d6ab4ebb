import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, base64url, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { AuthError } from './auth-error.js';
import { AuthOptionsError } from './auth-options-error.js';
import { createTokenVerifier, type TokenVerifierOptions } from './token-verifier.js';

const base = { jwksCacheMs: 600_000, jwksCooldownMs: 30_000, clockToleranceSeconds: 5, orgClaim: 'org_ids', maxTokenBytes: 8_192 };
const SECRET = 'a-development-secret-of-at-least-32-chars';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed25519 = generateKeyPairSync('ed25519');
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const rsaPem = pem(rsa.publicKey);
const secretBytes = new TextEncoder().encode(SECRET);

const nowSeconds = () => Math.floor(Date.now() / 1000);

function sign(key: KeyObject | Uint8Array, alg: string, claims: JWTPayload = {}): Promise<string> {
  const now = nowSeconds();
  return new SignJWT({ sub: 'alice', org_ids: ['acme'], iat: now, exp: now + 600, iss: 'https://issuer.test', aud: 'orgcast', ...claims })
    .setProtectedHeader({ alg, typ: 'JWT' })
    .sign(key);
}

/** A compact token with any header and claims and a fake signature: for what jose will not sign. */
function handcrafted(header: unknown, claims: JWTPayload, signature = ''): string {
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(claims)}.${signature}`;
}

async function refusal(verify: Promise<unknown>, token: string): Promise<AuthError['reason']> {
  const error = await verify.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AuthError);
  const authError = error as AuthError;
  for (const segment of token.split('.').filter((s) => s.length > 8)) expect(authError.message).not.toContain(segment);
  return authError.reason;
}

describe('createTokenVerifier: bad token corpus', () => {
  const verifier = createTokenVerifier({ ...base, secret: SECRET, publicKeyPem: rsaPem, issuer: 'https://issuer.test', audience: 'orgcast' });
  const pemOnly = createTokenVerifier({ ...base, publicKeyPem: rsaPem });
  const now = nowSeconds();
  const validClaims = { sub: 'alice', iss: 'https://issuer.test', aud: 'orgcast', exp: now + 600 };

  const corpus: Array<[string, () => Promise<string>, AuthError['reason']]> = [
    ['missing sub', () => sign(rsa.privateKey, 'RS256', { sub: undefined }), 'claims'],
    ['empty sub', () => sign(rsa.privateKey, 'RS256', { sub: '' }), 'claims'],
    ['no exp', () => sign(rsa.privateKey, 'RS256', { exp: undefined }), 'claims'],
    ['non-numeric exp', () => sign(secretBytes, 'HS256', { exp: 'tomorrow' as unknown as number }), 'claims'],
    ['alg none, no signature', async () => handcrafted({ alg: 'none', typ: 'JWT' }, validClaims), 'bad_signature'],
    ['alg none with a signature', async () => handcrafted({ alg: 'none' }, validClaims, 'c2lnbmF0dXJl'), 'bad_signature'],
    ['alg NONE', async () => handcrafted({ alg: 'NONE' }, validClaims), 'bad_signature'],
    ['HS256 signed with the public key PEM as secret', () => sign(new TextEncoder().encode(rsaPem), 'HS256'), 'bad_signature'],
    ['RS256 header over an HMAC signature', async () => {
      const hs = await sign(secretBytes, 'HS256');
      const [, payload, signature] = hs.split('.');
      return `${base64url.encode(JSON.stringify({ alg: 'RS256' }))}.${payload}.${signature}`;
    }, 'bad_signature'],
    ['signed by another RSA key', () => sign(otherRsa.privateKey, 'RS256'), 'bad_signature'],
    ['signed by another secret', () => sign(new TextEncoder().encode('another-secret-that-is-32-chars-long!'), 'HS256'), 'bad_signature'],
    ['an algorithm the configured keys do not allow', () => sign(p256.privateKey, 'ES256'), 'bad_signature'],
    ['tampered payload', async () => {
      const [header, , signature] = (await sign(rsa.privateKey, 'RS256')).split('.');
      return `${header}.${base64url.encode(JSON.stringify({ ...validClaims, sub: 'mallory' }))}.${signature}`;
    }, 'bad_signature'],
    ['expired', () => sign(rsa.privateKey, 'RS256', { exp: now - 60 }), 'expired'],
    ['not yet valid', () => sign(rsa.privateKey, 'RS256', { nbf: now + 60 }), 'not_yet_valid'],
    ['wrong issuer', () => sign(rsa.privateKey, 'RS256', { iss: 'https://evil.test' }), 'claims'],
    ['no issuer', () => sign(rsa.privateKey, 'RS256', { iss: undefined }), 'claims'],
    ['wrong audience', () => sign(rsa.privateKey, 'RS256', { aud: 'someone-else' }), 'claims'],
    ['no audience', () => sign(secretBytes, 'HS256', { aud: undefined }), 'claims'],
    ['org claim of the wrong type', () => sign(rsa.privateKey, 'RS256', { org_ids: 42 }), 'claims'],
    ['org claim with an empty member', () => sign(secretBytes, 'HS512', { org_ids: ['acme', ''] }), 'claims'],
    ['fallback org_id of the wrong type', () => sign(rsa.privateKey, 'RS256', { org_ids: undefined, org_id: ['acme', 1] }), 'claims'],
    ['empty string', async () => '', 'missing'],
    ['garbage', async () => 'garbage', 'malformed'],
    ['two segments', async () => 'abc.def', 'malformed'],
    ['four segments', async () => 'a.b.c.d', 'malformed'],
    ['five segments (JWE-shaped)', async () => 'a.b.c.d.e', 'malformed'],
    ['dots only', async () => '..', 'malformed'],
    ['header not JSON', async () => 'bm90LWpzb24.e30.c2ln', 'malformed'],
    ['header a JSON array', async () => `${base64url.encode('[1]')}.e30.c2ln`, 'malformed'],
    ['header without alg', async () => handcrafted({ typ: 'JWT' }, validClaims, 'c2ln'), 'malformed'],
    ['header alg a number', async () => handcrafted({ alg: 256 }, validClaims, 'c2ln'), 'malformed'],
    ['payload not JSON', async () => {
      const [header, , signature] = (await sign(secretBytes, 'HS256')).split('.');
      return `${header}.bm90LWpzb24.${signature}`;
    }, 'bad_signature'],
    ['whitespace inside', async () => ` ${await sign(secretBytes, 'HS256')}`, 'malformed'],
    ['non-ASCII', async () => 'ä.ö.ü', 'malformed'],
    ['8 KB of junk', async () => 'a'.repeat(8_193), 'too_large'],
    ['a validly signed token just over 8 KB', () => signedTokenOfLength(8_193, 8_194), 'too_large'],
  ];

  it.each(corpus)('refuses %s', async (_label, make, reason) => {
    const token = await make();
    expect(await refusal(verifier.verify(token), token)).toBe(reason);
  });

  it('refuses key confusion with only a public key configured', async () => {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const token = await sign(new TextEncoder().encode(rsaPem), alg);
      expect(await refusal(pemOnly.verify(token), token)).toBe('bad_signature');
    }
    const token = await sign(secretBytes, 'HS256');
    expect(await refusal(pemOnly.verify(token), token)).toBe('bad_signature');
  });

  it('accepts a validly signed token of exactly the maximum size', async () => {
    const token = await signedTokenOfLength(8_191, 8_192);
    expect((await verifier.verify(token)).userId).toBe('alice');
  });
});

/** A valid HS256 token whose length is within [min, max], padded through an extra claim. */
async function signedTokenOfLength(min: number, max: number): Promise<string> {
  let pad = 0;
  for (;;) {
    const token = await sign(secretBytes, 'HS256', { pad: 'x'.repeat(pad) });
    if (token.length >= min && token.length <= max) return token;
    if (token.length > max) throw new Error(`overshot ${min}..${max}: ${token.length}`);
    pad += Math.max(1, Math.floor(((min - token.length) * 3) / 4));
  }
}

describe('createTokenVerifier: good tokens', () => {
  it.each(['HS256', 'HS384', 'HS512'])('verifies %s against the secret', async (alg) => {
    const verifier = createTokenVerifier({ ...base, secret: SECRET });
    const token = await sign(secretBytes, alg, { org_ids: ['acme', 'globex', 'acme'], scope: 'events:publish' });
    const iat = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { iat: number }).iat;
    expect(await verifier.verify(token)).toEqual({
      userId: 'alice',
      organizations: ['acme', 'globex'],
      issuedAtMs: iat * 1000,
      expiresAtMs: (iat + 600) * 1000,
      scopes: ['events:publish'],
    });
  });

  it.each(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'])('verifies %s against an RSA public key', async (alg) => {
    const verifier = createTokenVerifier({ ...base, publicKeyPem: rsaPem });
    expect((await verifier.verify(await sign(rsa.privateKey, alg))).userId).toBe('alice');
  });

  it('verifies ES256 against a P-256 key, and nothing else with it', async () => {
    const verifier = createTokenVerifier({ ...base, publicKeyPem: pem(p256.publicKey) });
    expect((await verifier.verify(await sign(p256.privateKey, 'ES256'))).organizations).toEqual(['acme']);
    const rs = await sign(rsa.privateKey, 'RS256');
    expect(await refusal(verifier.verify(rs), rs)).toBe('bad_signature');
  });

  it.each(['EdDSA', 'Ed25519'])('verifies %s against an Ed25519 key', async (alg) => {
    const verifier = createTokenVerifier({ ...base, publicKeyPem: pem(ed25519.publicKey) });
    expect((await verifier.verify(await sign(ed25519.privateKey, alg))).userId).toBe('alice');
  });

  it('verifies each algorithm family against its own key when secret and public key are both configured', async () => {
    const verifier = createTokenVerifier({ ...base, secret: SECRET, publicKeyPem: rsaPem });
    expect((await verifier.verify(await sign(secretBytes, 'HS256', { sub: 'hs' }))).userId).toBe('hs');
    expect((await verifier.verify(await sign(rsa.privateKey, 'RS256', { sub: 'rs' }))).userId).toBe('rs');
  });

  it('reads organizations from a configured claim name, falling back to org_id', async () => {
    const verifier = createTokenVerifier({ ...base, secret: SECRET, orgClaim: 'https://example.com/orgs' });
    expect((await verifier.verify(await sign(secretBytes, 'HS256', { 'https://example.com/orgs': ['x', 'y'] }))).organizations).toEqual(['x', 'y']);
    expect((await verifier.verify(await sign(secretBytes, 'HS256', { org_ids: undefined, org_id: 'solo' }))).organizations).toEqual(['solo']);
    expect((await verifier.verify(await sign(secretBytes, 'HS256', { org_ids: undefined }))).organizations).toEqual([]);
  });

  it('accepts a Config["auth"] object as is', async () => {
    const config = {
      secret: SECRET, publicKeyPem: undefined, jwksUrl: undefined, jwksCacheMs: 600_000, jwksCooldownMs: 30_000,
      issuer: undefined, audience: undefined, clockToleranceSeconds: 5, orgClaim: 'org_ids', maxTokenBytes: 8_192, devSecretFile: undefined,
    } as const;
    const verifier = createTokenVerifier(config);
    expect((await verifier.verify(await sign(secretBytes, 'HS256'))).userId).toBe('alice');
  });
});

describe('createTokenVerifier: clock tolerance', () => {
  const t = 1_900_000_000;
  const at = (tolerance: number) => createTokenVerifier({ ...base, secret: SECRET, clockToleranceSeconds: tolerance, now: () => t * 1000 });
  const token = (claims: JWTPayload) => sign(secretBytes, 'HS256', { iat: t - 100, exp: t + 600, ...claims });

  it('accepts exp and nbf within the tolerance and refuses them beyond it', async () => {
    const verifier = at(5);
    expect((await verifier.verify(await token({ exp: t - 4 }))).userId).toBe('alice');
    const expired = await token({ exp: t - 6 });
    expect(await refusal(verifier.verify(expired), expired)).toBe('expired');
    expect((await verifier.verify(await token({ nbf: t + 4 }))).userId).toBe('alice');
    const early = await token({ nbf: t + 6 });
    expect(await refusal(verifier.verify(early), early)).toBe('not_yet_valid');
  });

  it('with no tolerance, a token expires at its exp second', async () => {
    const verifier = at(0);
    const now = await token({ exp: t });
    expect(await refusal(verifier.verify(now), now)).toBe('expired');
    expect((await verifier.verify(await token({ exp: t + 1 }))).userId).toBe('alice');
    const early = await token({ nbf: t + 1 });
    expect(await refusal(verifier.verify(early), early)).toBe('not_yet_valid');
  });
});

describe('createTokenVerifier: options', () => {
  const problems = (options: TokenVerifierOptions): readonly string[] => {
    try {
      createTokenVerifier(options);
    } catch (error) {
      expect(error).toBeInstanceOf(AuthOptionsError);
      return (error as AuthOptionsError).problems;
    }
    throw new Error('options were accepted');
  };

  it('requires at least one key', () => {
    expect(problems(base)).toEqual(['one of secret, publicKeyPem or jwksUrl is required']);
  });

  it('refuses unusable keys, naming every problem at once without quoting key material', () => {
    const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const found = problems({ ...base, secret: 'short', publicKeyPem: '-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----', jwksUrl: 'ftp://keys.test/jwks', clockToleranceSeconds: 61 });
    expect(found).toHaveLength(4);
    expect(found.join('\n')).not.toContain('short');
    expect(problems({ ...base, publicKeyPem: privatePem })[0]).toMatch(/private key/);
    expect(problems({ ...base, publicKeyPem: pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey) })[0]).toMatch(/2048/);
    expect(problems({ ...base, publicKeyPem: pem(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey) })[0]).toMatch(/secp256k1/);
    expect(problems({ ...base, jwksUrl: 'not a url' })[0]).toMatch(/jwksUrl/);
    expect(problems({ ...base, secret: SECRET, orgClaim: '', maxTokenBytes: 0, issuer: '' })).toHaveLength(3);
  });
});
