import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, type GatewayProcess } from './helpers/gateway-process.js';
import { TEST_SECRET, token } from './helpers/gateway.js';
import { TestClient, expectRefused } from './helpers/ws-client.js';

const key = new TextEncoder().encode(TEST_SECRET);

function signed(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);
}

/** Validly signed tokens whose claim values are out of every sane range: none may take the pod down. */
describe('validly signed tokens with hostile claim values', () => {
  let gw: GatewayProcess;
  let watcher: TestClient;
  const nowS = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    gw = await spawnGateway({ JWT_SECRET: TEST_SECRET, CONNECT_RATE_BURST: '1000' });
    watcher = await TestClient.established(`ws://127.0.0.1:${gw.port}/api/ws`, await token('watcher', ['other']));
  });
  afterAll(async () => {
    await watcher.close();
    gw.kill('SIGKILL');
  });

  const cases: Array<[string, Record<string, unknown>]> = [
    ['exp beyond the largest Date (8.64e12 s)', { sub: 'alice', org_ids: ['acme'], exp: 8.64e12 + 1 }],
    ['exp 1e300', { sub: 'alice', org_ids: ['acme'], exp: 1e300 }],
    ['iat beyond the largest Date', { sub: 'alice', org_ids: ['acme'], exp: nowS + 3600, iat: 9e15 }],
    ['negative iat', { sub: 'alice', org_ids: ['acme'], exp: nowS + 3600, iat: -1e300 }],
    ['fractional exp', { sub: 'alice', org_ids: ['acme'], exp: nowS + 3600.5 }],
  ];

  for (const [name, claims] of cases) {
    it(`${name}: a JSON 401 or a working connection, and the pod lives on`, async () => {
      const url = `ws://127.0.0.1:${gw.port}/api/ws`;
      const jwt = await signed(claims);
      let outcome: number;
      try {
        const client = await TestClient.established(url, jwt);
        await client.close();
        outcome = 101;
      } catch {
        const refused = await expectRefused(url, { token: jwt });
        expect(refused.body.error).toBe('unauthorized');
        outcome = refused.status;
      }
      expect([101, 401]).toContain(outcome);
      expect((await fetch(`http://127.0.0.1:${gw.managementPort}/healthz`)).status).toBe(200);
      expect(gw.child.exitCode).toBeNull();
      expect(watcher.closeCode).toBeUndefined();
    });
  }

  it('a poll with such a token gets a JSON 401 too', async () => {
    const jwt = await signed({ sub: 'alice', org_ids: ['acme'], exp: 8.64e12 + 1 });
    const res = await fetch(`http://127.0.0.1:${gw.port}/api/poll?timeout_ms=0`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'unauthorized' });
    expect(gw.child.exitCode).toBeNull();
  });
});
