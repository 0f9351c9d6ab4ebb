import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, type GatewayProcess } from './helpers/gateway-process.js';
import { TEST_SECRET, startGateway, token, type RunningGateway } from './helpers/gateway.js';
import { TestClient, expectRefused } from './helpers/ws-client.js';

const key = new TextEncoder().encode(TEST_SECRET);

/** A valid token of about `bytes` bytes (padded with an unused claim). */
function tokenOfSize(bytes: number, organizations: string[]): Promise<string> {
  const base = 200 + organizations.join('').length * 1.4;
  return new SignJWT({ org_ids: organizations, pad: 'x'.repeat(Math.max(0, Math.floor((bytes - base) * 0.75))) })
    .setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt().setExpirationTime('1h').sign(key);
}

/** Sends one raw HTTP request, returns the whole answer as text. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('connect', () => socket.write(head));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (/\r\n\r\n[^]*\}$/.test(received)) socket.destroy();
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 3_000);
  });
}

describe('request limits: the documented ones are reachable, every refusal is JSON', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.stop());

  it('a 3,900-byte malformed token gets the JSON 401, not an HTML 431', async () => {
    expect(await expectRefused(gw.wsUrl, { token: `${'a'.repeat(3_900)}.b.c` })).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('an 8,000-byte valid token connects; one above JWT_MAX_TOKEN_BYTES gets the JSON 401', async () => {
    const big = await tokenOfSize(8_000, ['acme']);
    expect(big.length).toBeGreaterThan(7_500);
    expect(big.length).toBeLessThanOrEqual(8_192);
    const client = await TestClient.established(gw.wsUrl, big);
    await client.close();
    expect(await expectRefused(gw.wsUrl, { token: await tokenOfSize(9_000, ['acme']) })).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('a resume cursor of 1,000 pairs is accepted on the WebSocket', async () => {
    const t = await token('alice', ['acme']);
    const pairs = Array.from({ length: 1_000 }, () => `${randomUUID()}:1732672800000-0`).join(',');
    const client = await TestClient.established(`${gw.wsUrl}?resume=${encodeURIComponent(pairs)}`, t);
    await client.close();
  });

  it('a user in 40 UUID-named organizations can poll, by GET and by POST', async () => {
    const organizations = Array.from({ length: 40 }, () => randomUUID());
    const t = await token('alice', organizations);
    const first = await (await fetch(`${gw.httpUrl}/api/poll?timeout_ms=0`, { headers: { authorization: `Bearer ${t}` } })).json() as { resume: string };
    const get = await fetch(`${gw.httpUrl}/api/poll?timeout_ms=0&resume=${encodeURIComponent(first.resume)}&access_token=${t}`);
    expect(get.status).toBe(200);
    const post = await fetch(`${gw.httpUrl}/api/poll`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify({ resume: first.resume, timeout_ms: 0 }) });
    expect(post.status).toBe(200);
    expect(await post.json()).toMatchObject({ events: [], resume: first.resume });
  });

  it('POST /api/poll refuses a bad body in JSON', async () => {
    const t = await token('alice', ['acme']);
    const post = (body: string, contentType = 'application/json'): Promise<Response> => fetch(`${gw.httpUrl}/api/poll`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': contentType }, body });
    for (const [body, type, status] of [['{', 'application/json', 400], ['[]', 'application/json', 400], ['{"resume":5}', 'application/json', 400], ['{"timeout_ms":"5"}', 'application/json', 400], ['{}', 'text/plain', 415]] as const) {
      const res = await post(body, type);
      expect(res.status, body).toBe(status);
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    }
  });

  it('sequential requests on one keep-alive connection are answered; pipelined polls close it without a mixed answer', async () => {
    const t = await token('alice', ['acme']);
    const poll = `GET /api/poll?timeout_ms=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\n\r\n`;
    const answers = await new Promise<string>((resolve, reject) => {
      const socket = connect(gw.port, '127.0.0.1');
      let received = '';
      let sent = 1;
      socket.on('connect', () => socket.write(poll));
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        const count = received.split('HTTP/1.1 200').length - 1;
        if (count === sent && sent < 3) {
          sent += 1;
          socket.write(poll);
        } else if (count === 3) socket.destroy();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    expect(answers.split('HTTP/1.1 200').length - 1).toBe(3);
    // Two in one write: uWS does not answer asynchronous handlers out of a pipeline (docs/protocol.md).
    const pipelined = await rawRequest(gw.port, poll + poll);
    expect(pipelined).toBe('');
    expect((await fetch(`${gw.httpUrl}/api/poll?timeout_ms=0`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
  });

  it('headers beyond the documented 96 KiB get a JSON 431', async () => {
    const answer = await rawRequest(gw.port, `GET /api/poll HTTP/1.1\r\nHost: x\r\nX-Filler: ${'f'.repeat(100 * 1024)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer).toContain('"error":"headers_too_large"');
    const upgrade = await rawRequest(gw.port, `GET /api/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Filler: ${'f'.repeat(100 * 1024)}\r\n\r\n`);
    expect(upgrade).toMatch(/^HTTP\/1\.1 431 [^]*"error":"headers_too_large"/);
  });
});

describe('the gateway process applies the transport settings itself', () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await spawnGateway({ JWT_SECRET: TEST_SECRET });
  });
  afterAll(() => gw.kill('SIGKILL'));

  it('reads 60 KB of headers (above uWS\'s default 4 KB) and answers in JSON', async () => {
    const answer = await rawRequest(gw.port, `GET /api/poll HTTP/1.1\r\nHost: x\r\nX-Filler: ${'f'.repeat(60 * 1024)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 401 [^]*"error":"unauthorized"/);
  });
});
