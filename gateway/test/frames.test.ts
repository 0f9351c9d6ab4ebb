import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, token, type RunningGateway } from './helpers/gateway.js';
import { TestClient } from './helpers/ws-client.js';

async function publishDirect(gw: RunningGateway, publisher: string, organizationId: string, data: unknown): Promise<void> {
  const response = await fetch(`${gw.httpUrl}/api/dev/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_type: 'task.event.created', organization_id: organizationId, data }),
  });
  expect(response.status).toBe(202);
}

async function closedCount(gw: RunningGateway, reason: string): Promise<number> {
  const text = await (await fetch(`${gw.managementUrl}/metrics`)).text();
  const match = new RegExp(`orgcast_connections_closed_total\\{reason="${reason}",pod="[^"]+"\\} (\\d+)`).exec(text);
  return match === null ? 0 : Number(match[1]);
}

describe('client frames and server-initiated closes', () => {
  const running: RunningGateway[] = [];
  const clients: TestClient[] = [];
  async function gateway(env: Record<string, string> = {}): Promise<RunningGateway> {
    const gw = await startGateway(env);
    running.push(gw);
    return gw;
  }
  async function client(gw: RunningGateway, user: string, orgs: string[], ttlSeconds?: number): Promise<TestClient> {
    const c = await TestClient.established(gw.wsUrl, await token(user, orgs, { ttlSeconds }));
    clients.push(c);
    return c;
  }
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(running.splice(0).map((g) => g.stop()));
  });

  it('answers ping with pong; bad frames get error frames and the neighbours never notice', async () => {
    const gw = await gateway({ MAX_PAYLOAD_BYTES: '256' });
    const publisher = await token('svc', [], { scopes: ['events:publish'] });
    const bad = await client(gw, 'mallory', ['acme']);
    const good = await client(gw, 'alice', ['acme']);
    bad.send({ event_type: 'ping' });
    await bad.waitFor((f) => f.event_type === 'pong');
    bad.send('{"event_type":');
    bad.send({ event_type: 'subscribe', organization_id: 'globex' });
    bad.send('"just a string"');
    bad.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await bad.waitFor((f) => f.event_type === 'error' && (f.data as { code: string }).code === 'binary_not_supported');
    const codes = bad.frames.filter((f) => f.event_type === 'error').map((f) => (f.data as { code: string }).code);
    expect(codes).toEqual(['malformed_json', 'unknown_event_type', 'invalid_frame', 'binary_not_supported']);
    await publishDirect(gw, publisher, 'acme', { n: 1 });
    await good.waitForCount(undefined, 1);
    await bad.waitForCount(undefined, 1);
    expect(good.frames.some((f) => f.event_type === 'error')).toBe(false);

    bad.send(JSON.stringify({ event_type: 'ping', pad: 'x'.repeat(400) }));
    expect(await bad.waitForClose()).toBe(1009);
    await publishDirect(gw, publisher, 'acme', { n: 2 });
    await good.waitForCount(undefined, 2);
  });

  it('closes with 4400 after too many malformed frames', async () => {
    const gw = await gateway({ MALFORMED_FRAME_LIMIT: '3' });
    const c = await client(gw, 'mallory', ['acme']);
    for (let i = 0; i < 3; i += 1) c.send('nope');
    expect(await c.waitForClose()).toBe(4400);
  });

  it('rate limits client messages with error frames, then closes with 4008 on sustained abuse', async () => {
    const gw = await gateway({ CLIENT_MESSAGES_PER_SECOND: '1', CLIENT_MESSAGES_BURST: '5', CLIENT_RATE_LIMIT_STRIKES: '10' });
    const c = await client(gw, 'spammer', ['acme']);
    for (let i = 0; i < 30; i += 1) c.send({ event_type: 'ping' });
    expect(await c.waitForClose()).toBe(4008);
    expect(c.frames.filter((f) => f.event_type === 'pong').length).toBeGreaterThanOrEqual(5);
    expect(c.frames.filter((f) => f.event_type === 'error' && (f.data as { code: string }).code === 'rate_limited').length).toBe(9);
  });

  it('closes a binary frame above MAX_PAYLOAD_BYTES with 1009, like a text frame', async () => {
    const gw = await gateway({ MAX_PAYLOAD_BYTES: '256' });
    const c = await client(gw, 'bob', ['acme']);
    c.ws.send(Buffer.alloc(1_000, 1), { binary: true });
    expect(await c.waitForClose()).toBe(1009);
  });

  it('closes with 4100 when the token expires', async () => {
    const gw = await gateway({ JWT_CLOCK_TOLERANCE_SECONDS: '0' });
    const c = await client(gw, 'alice', ['acme'], 2);
    expect(await c.waitForClose(5_000)).toBe(4100);
    expect(c.closeReason).toMatch(/token expired/);
  });

  it('refreshes a token in band: the connection outlives the old exp, drops and gains organizations gap-free, refuses another user\'s token', async () => {
    const gw = await gateway({ JWT_CLOCK_TOLERANCE_SECONDS: '0' });
    const publisher = await token('svc', [], { scopes: ['events:publish'] });
    const c = await client(gw, 'rita', ['keep-org', 'drop-org'], 3);
    const established = c.frames[0]!.data as { refresh_in_ms: number; token_expires_at: string };
    expect(established.refresh_in_ms).toBeGreaterThan(0);
    expect(established.refresh_in_ms).toBeLessThanOrEqual(1_500);

    await publishDirect(gw, publisher, 'gain-org', { n: 0 }); // before the refresh: not rita's
    c.send({ event_type: 'auth.refresh', data: { token: await token('rita', ['keep-org', 'gain-org'], { ttlSeconds: 60 }) } });
    const refreshed = await c.waitFor((f) => f.event_type === 'auth.refreshed');
    expect(refreshed.data).toMatchObject({ organizations: ['keep-org', 'gain-org'] });
    expect((refreshed.data as { refresh_in_ms: number }).refresh_in_ms).toBeGreaterThan(25_000);
    await c.waitFor((f) => f.event_type === 'organization.access.revoked' && (f.data as { organization_id: string }).organization_id === 'drop-org');
    await c.waitFor((f) => f.event_type === 'organization.access.granted' && (f.data as { organization_id: string }).organization_id === 'gain-org');
    for (const org of ['gain-org', 'drop-org', 'keep-org']) await publishDirect(gw, publisher, org, { n: org });
    await c.waitForCount(undefined, 2);
    await new Promise((r) => setTimeout(r, 3_500)); // past the first token's exp
    expect(c.closeCode).toBeUndefined();
    expect(c.events().map((e) => e.organization_id)).toEqual(['gain-org', 'keep-org']);

    c.send({ event_type: 'auth.refresh', data: { token: await token('mallory', ['keep-org']) } });
    const refused = await c.waitFor((f) => f.event_type === 'error');
    expect(refused.data).toMatchObject({ code: 'refresh_failed' });
    c.send({ event_type: 'auth.refresh', data: { token: 'not-a-jwt' } });
    await c.waitFor((f) => f.event_type === 'error' && f !== refused);
    expect(c.closeCode).toBeUndefined();
    await publishDirect(gw, publisher, 'keep-org', { n: 'after' });
    await c.waitForCount(undefined, 3);
  }, 30_000);

  it('keeps a connection admitted within the clock tolerance past exp until the tolerance is over (no connect → 4100 loop)', async () => {
    const gw = await gateway({ JWT_CLOCK_TOLERANCE_SECONDS: '6' });
    const t = await token('alice', ['acme'], { issuedAt: new Date(Date.now() - 61_000), ttlSeconds: 60 });
    // Times from the token itself (exp is whole seconds); the sweep runs about once a second.
    const expMs = (JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp * 1_000;
    const graceEndMs = expMs + 6_000;
    expect(graceEndMs - Date.now()).toBeGreaterThan(3_000); // admitted past exp, within the tolerance
    const c = await TestClient.established(gw.wsUrl, t);
    await new Promise((r) => setTimeout(r, Math.max(0, graceEndMs - 1_500 - Date.now())));
    expect(c.closeCode).toBeUndefined();
    expect(await c.waitForClose(graceEndMs + 3_000 - Date.now())).toBe(4100);
    expect(Date.now()).toBeGreaterThanOrEqual(graceEndMs - 50);
  });

  it('closes silent connections with 4001 and keeps the ones that answer pings', async () => {
    const gw = await gateway({ HEARTBEAT_INTERVAL_MS: '500', HEARTBEAT_TIMEOUT_MS: '2000' });
    const t = await token('alice', ['acme']);
    const silent = new WebSocket(gw.wsUrl, { headers: { authorization: `Bearer ${t}` }, autoPong: false });
    const silentClosed = new Promise<number>((resolve) => silent.on('close', (code) => resolve(code)));
    const alive = await client(gw, 'bob', ['acme']);
    expect(await silentClosed).toBe(4001);
    await new Promise((r) => setTimeout(r, 500));
    expect(alive.closeCode).toBeUndefined();
  });

  it('disconnects a slow consumer while the others keep receiving everything', async () => {
    const gw = await gateway({ MAX_BACKPRESSURE_BYTES: '70000', MAX_EVENT_BYTES: '17000' });
    const publisher = await token('svc', [], { scopes: ['events:publish'] });
    const slow = await client(gw, 'slow', ['acme']);
    const fast = await client(gw, 'fast', ['acme']);
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(16 * 1024);
    const total = 600;
    for (let i = 0; i < total; i += 1) await publishDirect(gw, publisher, 'acme', { i, payload });
    await fast.waitForCount(undefined, total, 20_000);
    expect(fast.events().map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(await closedCount(gw, 'slow_consumer')).toBe(1);
    expect(fast.closeCode).toBeUndefined();
  });
});
