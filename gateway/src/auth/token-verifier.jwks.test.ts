import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError } from './auth-error.js';
import { createTokenVerifier } from './token-verifier.js';

const base = { jwksCacheMs: 600_000, jwksCooldownMs: 0, clockToleranceSeconds: 5, orgClaim: 'org_ids', maxTokenBytes: 8_192 };

interface JwksServer {
  readonly url: string;
  /** Served keys; replace to rotate. `undefined` answers 500. */
  keys: JWK[] | undefined;
  /** When true, requests are left hanging. */
  hang: boolean;
  requests: number;
  close(): Promise<void>;
}

const servers: JwksServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state = { keys: keys as JWK[] | undefined, hang: false, requests: 0 };
  const server: Server = createServer((_request, response) => {
    state.requests += 1;
    if (state.hang) return;
    if (state.keys === undefined) {
      response.writeHead(500).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const handle: JwksServer = Object.assign(state, {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  });
  servers.push(handle);
  return handle;
}

function keyPair(kid: string | undefined) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk: JWK = { ...publicKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256', ...(kid !== undefined && { kid }) };
  return { privateKey, jwk, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

function sign(privateKey: KeyObject, kid: string | undefined, sub = 'alice'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ org_ids: ['acme'] })
    .setProtectedHeader({ alg: 'ES256', ...(kid !== undefined && { kid }) })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(privateKey);
}

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AuthError);
  return (error as AuthError).reason;
}

describe('createTokenVerifier with a JWKS URL', () => {
  it('follows a key rotation without being recreated', async () => {
    const first = keyPair('k1');
    const second = keyPair('k2');
    const jwks = await startJwksServer([first.jwk]);
    const verifier = createTokenVerifier({ ...base, jwksUrl: jwks.url });

    expect((await verifier.verify(await sign(first.privateKey, 'k1'))).userId).toBe('alice');
    expect((await verifier.verify(await sign(first.privateKey, 'k1', 'bob'))).userId).toBe('bob');
    expect(jwks.requests).toBe(1);

    jwks.keys = [second.jwk];
    expect((await verifier.verify(await sign(second.privateKey, 'k2'))).userId).toBe('alice');
    expect(jwks.requests).toBe(2);
    expect(await reason(verifier.verify(await sign(first.privateKey, 'k1')))).toBe('unknown_key');
  });

  it('refuses an unknown kid, refetching at most once per cooldown', async () => {
    const known = keyPair('known');
    const stranger = keyPair('stranger');
    const jwks = await startJwksServer([known.jwk]);
    const verifier = createTokenVerifier({ ...base, jwksUrl: jwks.url, jwksCooldownMs: 60_000 });

    expect(await reason(verifier.verify(await sign(stranger.privateKey, 'stranger')))).toBe('unknown_key');
    expect(await reason(verifier.verify(await sign(stranger.privateKey, 'stranger')))).toBe('unknown_key');
    expect(jwks.requests).toBe(1);
  });

  it('refuses a known kid with a signature from another key', async () => {
    const real = keyPair('k1');
    const forger = keyPair(undefined);
    const jwks = await startJwksServer([real.jwk]);
    const verifier = createTokenVerifier({ ...base, jwksUrl: jwks.url });
    expect(await reason(verifier.verify(await sign(forger.privateKey, 'k1')))).toBe('bad_signature');
  });

  it('tries every matching key when the token has no kid', async () => {
    const a = keyPair(undefined);
    const b = keyPair(undefined);
    const jwks = await startJwksServer([a.jwk, b.jwk]);
    const verifier = createTokenVerifier({ ...base, jwksUrl: jwks.url });
    expect((await verifier.verify(await sign(b.privateKey, undefined))).userId).toBe('alice');
    expect(await reason(verifier.verify(await sign(keyPair(undefined).privateKey, undefined)))).toBe('bad_signature');
  });

  it('never looks up HS* tokens in the JWKS', async () => {
    const jwks = await startJwksServer([keyPair('k1').jwk]);
    const verifier = createTokenVerifier({ ...base, jwksUrl: jwks.url });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sub: 'alice', exp: now + 60 }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode('x'.repeat(32)));
    expect(await reason(verifier.verify(token))).toBe('bad_signature');
    expect(jwks.requests).toBe(0);
  });

  it('reports key_unavailable when the JWKS server is down, failing or hanging', async () => {
    const pair = keyPair('k1');
    const down = await startJwksServer([]);
    const downUrl = down.url;
    await down.close();
    const unreachable = createTokenVerifier({ ...base, jwksUrl: downUrl });
    expect(await reason(unreachable.verify(await sign(pair.privateKey, 'k1')))).toBe('key_unavailable');

    const failing = await startJwksServer([]);
    failing.keys = undefined;
    expect(await reason(createTokenVerifier({ ...base, jwksUrl: failing.url }).verify(await sign(pair.privateKey, 'k1')))).toBe('key_unavailable');

    const hanging = await startJwksServer([pair.jwk]);
    hanging.hang = true;
    const impatient = createTokenVerifier({ ...base, jwksUrl: hanging.url, jwksTimeoutMs: 200 });
    expect(await reason(impatient.verify(await sign(pair.privateKey, 'k1')))).toBe('key_unavailable');
  });

  it('uses the PEM key first and the JWKS for tokens the PEM key did not sign', async () => {
    const local = keyPair(undefined);
    const remote = keyPair('remote');
    const jwks = await startJwksServer([remote.jwk]);
    const verifier = createTokenVerifier({ ...base, jwksUrl: jwks.url, publicKeyPem: local.pem });

    expect((await verifier.verify(await sign(local.privateKey, undefined, 'local'))).userId).toBe('local');
    expect(jwks.requests).toBe(0);
    expect((await verifier.verify(await sign(remote.privateKey, 'remote', 'remote'))).userId).toBe('remote');
    expect(jwks.requests).toBe(1);
  });
});

