import { connect } from 'node:net';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, TEST_SECRET, token, type RunningGateway } from './helpers/gateway.js';
import { expectRefused, TestClient } from './helpers/ws-client.js';

describe('upgrade refusals: HTTP status before any socket exists', () => {
  const running: RunningGateway[] = [];
  const clients: TestClient[] = [];
  async function gateway(env: Record<string, string> = {}): Promise<RunningGateway> {
    const gw = await startGateway(env);
    running.push(gw);
    return gw;
  }
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(running.splice(0).map((g) => g.stop()));
  });

  it('401 for a missing, garbage, expired or wrongly signed token, with a JSON body', async () => {
    const gw = await gateway();
    const missing = await expectRefused(gw.wsUrl);
    expect(missing).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect((await expectRefused(gw.wsUrl, { token: 'not.a.jwt' })).status).toBe(401);
    const expired = await token('alice', ['acme'], { issuedAt: new Date(Date.now() - 7_200_000), ttlSeconds: 60 });
    expect((await expectRefused(gw.wsUrl, { token: expired })).status).toBe(401);
    const forged = await token('alice', ['acme'], { secret: 'another-secret-another-secret-another' });
    expect((await expectRefused(gw.wsUrl, { token: forged })).status).toBe(401);
    const metrics = await (await fetch(`${gw.managementUrl}/metrics`)).text();
    expect(metrics).toMatch(/orgcast_auth_failures_total\{reason="missing",pod="[^"]+"\} 1/);
    expect(metrics).toMatch(/orgcast_auth_failures_total\{reason="expired",pod="[^"]+"\} 1/);
    expect(metrics).toMatch(/orgcast_connections_refused_total\{reason="unauthorized",pod="[^"]+"\} 4/);
  });

  it('accepts the token from the access_token query parameter (browsers)', async () => {
    const gw = await gateway();
    const t = await token('alice', ['acme']);
    const client = await TestClient.connect(`${gw.wsUrl}?access_token=${encodeURIComponent(t)}`);
    clients.push(client);
    await client.waitFor((f) => f.event_type === 'connection.established');
  });

  it('401 for a token without exp, never a 101', async () => {
    const gw = await gateway();
    const noExp = await new SignJWT({ org_ids: ['acme'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt().sign(new TextEncoder().encode(TEST_SECRET));
    expect((await expectRefused(gw.wsUrl, { token: noExp })).status).toBe(401);
  });

  it('403 when the Origin is not allowed', async () => {
    const gw = await gateway({ ALLOWED_ORIGINS: 'https://app.example' });
    const t = await token('alice', ['acme']);
    expect(await expectRefused(gw.wsUrl, { token: t, headers: { origin: 'https://evil.example' } })).toMatchObject({ status: 403, body: { error: 'forbidden_origin' } });
    expect((await expectRefused(gw.wsUrl, { token: t })).status).toBe(403);
    const ok = await TestClient.connect(gw.wsUrl, { token: t, headers: { origin: 'https://app.example' } });
    clients.push(ok);
  });

  it('429 when one address connects too fast; other addresses are not affected', async () => {
    const gw = await gateway({ CONNECT_RATE_PER_SECOND: '1', CONNECT_RATE_BURST: '3' });
    const t = await token('alice', ['acme']);
    for (let i = 0; i < 3; i += 1) clients.push(await TestClient.connect(gw.wsUrl, { token: t, localAddress: '127.0.0.2' }));
    expect(await expectRefused(gw.wsUrl, { token: t, localAddress: '127.0.0.2' })).toMatchObject({ status: 429, body: { error: 'rate_limited' } });
    clients.push(await TestClient.connect(gw.wsUrl, { token: t, localAddress: '127.0.0.3' }));
  });

  it('honours X-Forwarded-For only from trusted proxies', async () => {
    const gw = await gateway({ CONNECT_RATE_PER_SECOND: '1', CONNECT_RATE_BURST: '1', TRUSTED_PROXIES: '127.0.0.4' });
    const t = await token('alice', ['acme']);
    // Through the trusted proxy, two different clients each get their own bucket.
    clients.push(await TestClient.connect(gw.wsUrl, { token: t, localAddress: '127.0.0.4', headers: { 'x-forwarded-for': '198.51.100.1' } }));
    clients.push(await TestClient.connect(gw.wsUrl, { token: t, localAddress: '127.0.0.4', headers: { 'x-forwarded-for': '198.51.100.2' } }));
    expect((await expectRefused(gw.wsUrl, { token: t, localAddress: '127.0.0.4', headers: { 'x-forwarded-for': '198.51.100.2' } })).status).toBe(429);
    // From an untrusted address the header is ignored: the second connect is the same client.
    clients.push(await TestClient.connect(gw.wsUrl, { token: t, localAddress: '127.0.0.5', headers: { 'x-forwarded-for': '198.51.100.3' } }));
    expect((await expectRefused(gw.wsUrl, { token: t, localAddress: '127.0.0.5', headers: { 'x-forwarded-for': '198.51.100.4' } })).status).toBe(429);
  });

  it('dozens of connects per second from one address are fine by default', async () => {
    const gw = await startGateway({ CONNECT_RATE_BURST: '' });
    running.push(gw);
    const many = await Promise.all(Array.from({ length: 40 }, async (_, i) => TestClient.connect(gw.wsUrl, { token: await token(`user-${i}`, ['acme']), localAddress: '127.0.0.6' })));
    clients.push(...many);
    expect(many).toHaveLength(40);
  });

  it('503 at MAX_CONNECTIONS, with Retry-After', async () => {
    const gw = await gateway({ MAX_CONNECTIONS: '2', MAX_CONNECTIONS_PER_USER: '2' });
    clients.push(await TestClient.connect(gw.wsUrl, { token: await token('a', ['acme']) }));
    clients.push(await TestClient.connect(gw.wsUrl, { token: await token('b', ['acme']) }));
    expect(await expectRefused(gw.wsUrl, { token: await token('c', ['acme']) })).toMatchObject({ status: 503, body: { error: 'at_capacity' } });
  });

  it('429 above MAX_CONNECTIONS_PER_USER; other users are unaffected', async () => {
    const gw = await gateway({ MAX_CONNECTIONS_PER_USER: '2' });
    const alice = await token('alice', ['acme']);
    clients.push(await TestClient.connect(gw.wsUrl, { token: alice }), await TestClient.connect(gw.wsUrl, { token: alice }));
    expect(await expectRefused(gw.wsUrl, { token: alice })).toMatchObject({ status: 429, body: { error: 'too_many_connections' } });
    clients.push(await TestClient.connect(gw.wsUrl, { token: await token('bob', ['acme']) }));
    await clients[0]!.close();
    clients.shift();
    await new Promise((r) => setTimeout(r, 50));
    clients.push(await TestClient.connect(gw.wsUrl, { token: alice }));
  });

  it('400 for a handshake whose Connection header does not list Upgrade, or a malformed resume', async () => {
    const gw = await gateway();
    const t = await token('alice', ['acme']);
    // `ws` always sends "Connection: Upgrade": speak HTTP by hand.
    const handshake = (connection: string, query = ''): Promise<string> => new Promise((resolve, reject) => {
      const socket = connect(gw.port, '127.0.0.1');
      let received = '';
      socket.on('connect', () => socket.write(`GET /api/ws${query} HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\nConnection: ${connection}\r\n`
        + `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${t}\r\n\r\n`));
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        // A refusal is a whole JSON body; an accepted handshake ends with the established frame.
        if (received.includes('"message"') || received.includes('connection.established')) socket.destroy();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    const refused = await handshake('close');
    expect(refused).toMatch(/^HTTP\/1\.1 400 /);
    expect(refused).toContain('"error":"invalid_request"');
    expect(await handshake('keep-alive')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await handshake('keep-alive, Upgrade')).toMatch(/^HTTP\/1\.1 101 [^]*connection\.established/);
    expect(await handshake('Upgrade', '?resume=no-cursor-here')).toMatch(/^HTTP\/1\.1 400 [^]*"error":"invalid_request"/);
  });

  it('refuses handshakes RFC 6455 does not allow: 400 for a bad Upgrade or key, 426 for another version, JSON either way', async () => {
    const gw = await gateway();
    const t = await token('alice', ['acme']);
    const send = (headers: string): Promise<string> => new Promise((resolve, reject) => {
      const socket = connect(gw.port, '127.0.0.1');
      let received = '';
      socket.on('connect', () => socket.write(`GET /api/ws HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${t}\r\n${headers}\r\n`));
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        if (received.includes('"message"') || received.includes('connection.established')) socket.destroy();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    const version = 'Sec-WebSocket-Version: 13\r\n';
    const ok = 'Upgrade: websocket\r\nConnection: Upgrade\r\n';
    expect(await send(`${key}${version}`)).toMatch(/^HTTP\/1\.1 400 [^]*"error":"invalid_request"/);
    expect(await send(`Upgrade: h2c\r\nConnection: Upgrade\r\n${key}${version}`)).toMatch(/^HTTP\/1\.1 400 /);
    expect(await send(`${ok}Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n${version}`)).toMatch(/^HTTP\/1\.1 400 /);
    const other = await send(`${ok}${key}Sec-WebSocket-Version: 8\r\n`);
    expect(other).toMatch(/^HTTP\/1\.1 426 [^]*sec-websocket-version: 13[^]*"error":"invalid_request"/i);
    expect(await send(`${ok}${key}`)).toMatch(/^HTTP\/1\.1 426 /);
    expect(await send(`${ok}${key}${version}`)).toMatch(/^HTTP\/1\.1 101 [^]*connection\.established/);
  });

  it('answers a POST without a body whose head arrives in two writes', async () => {
    const gw = await gateway();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(gw.port, '127.0.0.1');
      let received = '';
      socket.on('connect', () => {
        socket.write('POST /api/dev/e');
        setTimeout(() => socket.write('vents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n'), 50);
      });
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        if (received.includes('"message"')) socket.destroy();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(), 2_000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 401 [^]*"error":"unauthorized"/);
  });

  it('answers HEAD without a body', async () => {
    const gw = await gateway();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(gw.port, '127.0.0.1');
      let received = '';
      socket.on('connect', () => socket.write('HEAD /nothing HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\nHost: x\r\n\r\n'));
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        if (received.includes('"message"')) socket.destroy();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(), 2_000);
    });
    // The HEAD answer ends with its headers: the next thing on the connection is the GET's status line.
    const [head, rest] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 404 /);
    expect(rest).toMatch(/^HTTP\/1\.1 404 /);
  });

  it('400 for a plain GET /api/ws without a WebSocket handshake', async () => {
    const gw = await gateway();
    const res = await fetch(gw.wsUrl.replace('ws://', 'http://'));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('400, never 500, for malformed resume ids of an organization the token grants (socket and poll)', async () => {
    const gw = await gateway();
    const t = await token('alice', ['acme']);
    for (const id of ['abc', '01-0', '18446744073709551616-0', '1-', '-1', '1-0-0', '1.5-0']) {
      const resume = encodeURIComponent(`acme:${encodeURIComponent(id)}`);
      expect(await expectRefused(`${gw.wsUrl}?resume=${resume}`, { token: t }), id).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
      const poll = await fetch(`${gw.httpUrl}/api/poll?timeout_ms=0&resume=${resume}`, { headers: { authorization: `Bearer ${t}` } });
      expect(poll.status, id).toBe(400);
      expect(await poll.json()).toMatchObject({ error: 'invalid_request' });
    }
    const metrics = await (await fetch(`${gw.managementUrl}/metrics`)).text();
    expect(metrics).not.toMatch(/orgcast_handler_errors_total\{[^}]*\} [1-9]/);
  });

  it('503 while draining', async () => {
    const gw = await gateway({ DRAIN_WINDOW_MS: '2000' });
    // The drain window scales with the connection count (10 ms each): 100 connections keep it open ~1 s.
    const holders = await Promise.all(Array.from({ length: 100 }, async (_, i) => TestClient.established(gw.wsUrl, await token(`holder-${i}`, ['acme']))));
    clients.push(...holders);
    const holder = holders[0]!;
    const stopping = gw.stop();
    expect(await expectRefused(gw.wsUrl, { token: await token('late', ['acme']) })).toMatchObject({ status: 503, body: { error: 'draining' } });
    const ready = await fetch(`${gw.managementUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await holder.waitForClose(5_000)).toBe(1012);
    await stopping;
    expect(new Set(await Promise.all(holders.map((h) => h.waitForClose())))).toEqual(new Set([1012]));
  });
});
