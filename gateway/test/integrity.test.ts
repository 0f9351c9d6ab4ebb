import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, type GatewayProcess } from './helpers/gateway-process.js';
import { TEST_SECRET, token } from './helpers/gateway.js';
import { TestPublisher } from './helpers/publisher.js';
import { createTestVhost, randomName, type TestVhost } from './helpers/rabbit.js';
import { createTestRedis, type TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';
import { TestClient, type Frame } from './helpers/ws-client.js';

/**
 * Ways the routed path loses frames, seen from the client: every check counts what a client
 * received against what was published for its organization.
 */
describe('delivery integrity across gateway processes', () => {
  let vhost: TestVhost;
  let redis: TestRedis;
  const pods: GatewayProcess[] = [];
  const clients: TestClient[] = [];
  const publishers: TestPublisher[] = [];

  beforeAll(async () => {
    [vhost, redis] = await Promise.all([createTestVhost(), createTestRedis()]);
  });
  afterEach(async () => {
    for (const pod of pods.splice(0)) {
      pod.kill('SIGCONT');
      pod.kill('SIGKILL');
    }
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(publishers.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await Promise.all([vhost?.cleanup(), redis?.cleanup()]);
  });

  async function pod(exchange: string, extra: Record<string, string> = {}): Promise<GatewayProcess> {
    const gw = await spawnGateway({
      JWT_SECRET: TEST_SECRET,
      AMQP_URL: vhost.url,
      AMQP_EXCHANGE: exchange,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: `${redis.prefix}${exchange}:`,
      POD_NAME: randomName('pod'),
      READINESS_CANARY_INTERVAL_MS: '200',
      AMQP_RECONNECT_MIN_MS: '50',
      AMQP_RECONNECT_MAX_MS: '500',
      ...extra,
    });
    pods.push(gw);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${gw.managementPort}/readyz`)).status === 200, 15_000, 'pod ready');
    return gw;
  }

  function publisherFor(exchange: string): TestPublisher {
    const publisher = new TestPublisher(vhost.url, exchange);
    publishers.push(publisher);
    return publisher;
  }

  const ns = (frames: readonly Frame[]): number[] => frames.map((f) => (f.data as { n: number }).n);
  const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

  it('a pod whose queue overflowed while it was stalled delivers every event, in order, from history', async () => {
    const exchange = randomName('tasks');
    // The first pod holds the ingest queue (single active consumer); the second one stalls.
    await pod(exchange);
    // Prefetch 1: what the broker holds for it stays in its queue (unacked deliveries do not count).
    const stalled = await pod(exchange, { AMQP_QUEUE_MAX_LENGTH: '5', AMQP_PREFETCH: '1' });
    const client = await TestClient.established(`ws://127.0.0.1:${stalled.port}/api/ws`, await token('olga', ['overflow-org']));
    clients.push(client);
    const publisher = publisherFor(exchange);
    await publisher.tasks(range(0, 3).map((n) => ({ organizationId: 'overflow-org', data: { n } })));
    await client.waitForCount(undefined, 3);
    stalled.kill('SIGSTOP');
    try {
      await publisher.tasks(range(3, 40).map((n) => ({ organizationId: 'overflow-org', data: { n } })));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    } finally {
      stalled.kill('SIGCONT');
    }
    // Its queue kept the 5 newest frames; the 35 before them are read from history.
    await client.waitForCount(undefined, 43, 10_000);
    expect(ns(client.events())).toEqual(range(0, 43));
    expect(client.closeCode).toBeUndefined();
  }, 60_000);

  it('streams a long resume to a slow reader without losing the middle of it', async () => {
    const exchange = randomName('tasks');
    const gw = await pod(exchange, { MAX_BACKPRESSURE_BYTES: '262144', RESUME_MAX_EVENTS: '1000' });
    const publisher = publisherFor(exchange);
    const writer = await TestClient.established(`ws://127.0.0.1:${gw.port}/api/ws`, await token('wanda', ['slow-org']));
    clients.push(writer);
    const payload = 'x'.repeat(14_000);
    const total = 900;
    await publisher.tasks(range(0, total).map((n) => ({ organizationId: 'slow-org', data: { n, payload } })));
    await writer.waitForCount(undefined, total, 20_000);
    const start = writer.events()[0]!;
    // ~13 MB to replay, far beyond the socket's limit and the kernel's buffers, to a reader that starts late.
    const received = await slowResume(gw.port, await token('sam', ['slow-org']), `slow-org:${start.prev ?? '0-0'}`, total);
    expect(received.closeCode).toBeUndefined();
    expect(received.recovered).toEqual({ 'slow-org': true });
    expect(received.ns).toEqual(range(0, total));
  }, 60_000);

  it('delivers a byte-identical body published again without a message id as a new event', async () => {
    const exchange = randomName('tasks');
    const gw = await pod(exchange);
    const client = await TestClient.established(`ws://127.0.0.1:${gw.port}/api/ws`, await token('ida', ['same-org']));
    clients.push(client);
    const publisher = publisherFor(exchange);
    // done → open → done, each published without a message id, with the same body.
    for (const status of ['done', 'open', 'done']) {
      await publisher.raw('task.event.updated', JSON.stringify({ organization_id: 'same-org', data: { id: 't-1', status } }));
    }
    const events = await client.waitForCount(undefined, 3, 5_000);
    expect(events.map((e) => (e.data as { status: string }).status)).toEqual(['done', 'open', 'done']);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
  }, 30_000);

  it('dead-letters an event above MAX_EVENT_BYTES: its members stay connected and get the next one', async () => {
    const exchange = randomName('tasks');
    const gw = await pod(exchange);
    const client = await TestClient.established(`ws://127.0.0.1:${gw.port}/api/ws`, await token('max', ['big-org']));
    clients.push(client);
    const publisher = publisherFor(exchange);
    await publisher.tasks([{ organizationId: 'big-org', data: { n: 0, blob: 'x'.repeat(10 * 1024 * 1024) } }, { organizationId: 'big-org', data: { n: 1 } }]);
    const events = await client.waitForCount(undefined, 1, 10_000);
    expect(ns(events)).toEqual([1]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ns(client.events())).toEqual([1]);
    expect(client.closeCode).toBeUndefined();
    const poll = await (await fetch(`http://127.0.0.1:${gw.port}/api/poll?timeout_ms=0&resume=big-org%3A0-0`, { headers: { authorization: `Bearer ${await token('max', ['big-org'])}` } })).json() as { events: Frame[] };
    expect(ns(poll.events)).toEqual([1]);
    const metrics = await (await fetch(`http://127.0.0.1:${gw.managementPort}/metrics`)).text();
    expect(metrics).toMatch(/orgcast_events_dead_lettered_total\{reason="too_large",pod="[^"]+"\} 1/);
  }, 30_000);

  it('the dev publish endpoint refuses with 413 an event the pipeline would dead-letter, and accepts any it would store', async () => {
    const exchange = randomName('tasks');
    const gw = await pod(exchange, { DEV_PUBLISH_ENABLED: 'true', MAX_EVENT_BYTES: '2000' });
    const publisher = { authorization: `Bearer ${await token('svc', [], { scopes: ['events:publish'] })}`, 'content-type': 'application/json' };
    const post = async (pad: number): Promise<number> => (await fetch(`http://127.0.0.1:${gw.port}/api/dev/events`, {
      method: 'POST', headers: publisher, body: JSON.stringify({ event_type: 'task.event.created', organization_id: 'dev-org', data: { n: pad, pad: 'x'.repeat(pad) } }),
    })).status;
    expect(await post(2_500)).toBe(413);
    expect(await post(100)).toBe(202);
    const jwt = await token('dev', ['dev-org']);
    await waitFor(async () => ns((await (await fetch(`http://127.0.0.1:${gw.port}/api/poll?timeout_ms=0&resume=dev-org%3A0-0`, { headers: { authorization: `Bearer ${jwt}` } })).json() as { events: Frame[] }).events).includes(100), 5_000, 'stored');
    const poll = await (await fetch(`http://127.0.0.1:${gw.port}/api/poll?timeout_ms=0&resume=dev-org%3A0-0`, { headers: { authorization: `Bearer ${jwt}` } })).json() as { events: Frame[] };
    expect(ns(poll.events)).toEqual([100]);
  }, 30_000);

  it('a connection that refreshed its token in band resumes on another pod after its pod dies, with the new token, losing nothing', async () => {
    const exchange = randomName('tasks');
    const [a, b] = [await pod(exchange, { JWT_CLOCK_TOLERANCE_SECONDS: '0' }), await pod(exchange, { JWT_CLOCK_TOLERANCE_SECONDS: '0' })];
    const publisher = publisherFor(exchange);
    const first = await TestClient.established(`ws://127.0.0.1:${a.port}/api/ws`, await token('ria', ['ref-org'], { ttlSeconds: 3 }));
    clients.push(first);
    const renewed = await token('ria', ['ref-org'], { ttlSeconds: 120 });
    first.send({ event_type: 'auth.refresh', data: { token: renewed } });
    await first.waitFor((f) => f.event_type === 'auth.refreshed');
    await publisher.tasks([0, 1, 2].map((n) => ({ organizationId: 'ref-org', data: { n } })));
    const seen = await first.waitForCount(undefined, 3);
    a.kill('SIGKILL');
    await first.waitForClose(5_000);
    await publisher.tasks([3, 4].map((n) => ({ organizationId: 'ref-org', data: { n } })));
    // Past the first token's exp: only the refreshed one still opens a connection.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const resumed = await TestClient.established(`ws://127.0.0.1:${b.port}/api/ws?resume=${encodeURIComponent(`ref-org:${seen[2]!.id}`)}`, renewed);
    clients.push(resumed);
    expect((resumed.frames[0]!.data as { recovered: Record<string, boolean> }).recovered).toEqual({ 'ref-org': true });
    expect(ns([...seen, ...(await resumed.waitForCount(undefined, 2))])).toEqual([0, 1, 2, 3, 4]);
  }, 30_000);

  it('a long poll admitted before a removal returns none of the events sequenced after it', async () => {
    const exchange = randomName('tasks');
    const gw = await pod(exchange);
    const publisher = publisherFor(exchange);
    const jwt = await token('una', ['gone-org', 'kept-org']);
    const pollUrl = (query: string): string => `http://127.0.0.1:${gw.port}/api/poll?${query}`;
    const headers = { authorization: `Bearer ${jwt}` };
    const first = await (await fetch(pollUrl('timeout_ms=0'), { headers })).json() as { resume: string };
    // Admitted now, with both organizations; it waits for an event.
    const waiting = fetch(pollUrl(`timeout_ms=10000&resume=${encodeURIComponent(first.resume)}`), { headers });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await publisher.membership('organization.member.removed', 'gone-org', 'una');
    await publisher.tasks([{ organizationId: 'gone-org', data: { n: 1 } }, { organizationId: 'kept-org', data: { n: 2 } }]);
    const answer = await (await waiting).json() as { events: Frame[]; resume: string; revoked?: string[] };
    expect(answer.events.filter((e) => e.organization_id === 'gone-org')).toEqual([]);
    expect(answer.revoked).toEqual(['gone-org']);
    expect(answer.resume).not.toContain('gone-org');
    // The next poll, admitted after the removal, never sees the organization again.
    await waitFor(async () => {
      const next = await (await fetch(pollUrl(`timeout_ms=0&resume=${encodeURIComponent(first.resume)}`), { headers })).json() as { events: Frame[] };
      return ns(next.events).includes(2);
    }, 5_000, 'kept-org event');
    const later = await (await fetch(pollUrl(`timeout_ms=0&resume=${encodeURIComponent(first.resume)}`), { headers })).json() as { events: Frame[]; resume: string };
    expect(later.events.map((e) => e.organization_id)).toEqual(['kept-org']);
    expect(later.resume).not.toContain('gone-org');
  }, 30_000);

  it('a member added while away gets the organization from its grant on the next poll and resume, not from the end', async () => {
    const exchange = randomName('tasks');
    const gw = await pod(exchange);
    const publisher = publisherFor(exchange);
    const jwt = await token('vera', ['home-org']); // issued before the grant: the grant is an override
    const headers = { authorization: `Bearer ${jwt}` };
    const pollUrl = (query: string): string => `http://127.0.0.1:${gw.port}/api/poll?${query}`;
    const first = await (await fetch(pollUrl('timeout_ms=0'), { headers })).json() as { resume: string };
    expect(first.resume).not.toContain('new-org');
    await publisher.tasks([{ organizationId: 'new-org', data: { n: 0 } }]); // before the grant: not vera's
    await publisher.membership('organization.member.added', 'new-org', 'vera');
    await publisher.tasks([{ organizationId: 'new-org', data: { n: 1 } }, { organizationId: 'new-org', data: { n: 2 } }]);
    // Everything is sequenced once an observer of the organization sees n = 2.
    const observer = { authorization: `Bearer ${await token('obs', ['new-org'])}` };
    await waitFor(async () => ns((await (await fetch(pollUrl('timeout_ms=0&resume=new-org%3A0-0'), { headers: observer })).json() as { events: Frame[] }).events).includes(2), 5_000, 'sequenced');

    // The cursor from before the grant lacks the organization: it starts at the grant, not at the end.
    const polled = await (await fetch(pollUrl(`timeout_ms=0&resume=${encodeURIComponent(first.resume)}`), { headers })).json() as { events: Frame[]; resume: string; recovered: Record<string, boolean> };
    expect(polled.events.filter((e) => e.organization_id === 'new-org').map((e) => (e.data as { n: number }).n)).toEqual([1, 2]);
    expect(polled.recovered['new-org']).toBe(true);
    expect(polled.resume).toContain('new-org');
    const client = await TestClient.established(`ws://127.0.0.1:${gw.port}/api/ws?resume=${encodeURIComponent(first.resume)}`, jwt);
    clients.push(client);
    expect(ns(await client.waitForCount(undefined, 2, 5_000))).toEqual([1, 2]);
    expect((client.frames[0]!.data as { recovered: Record<string, boolean> }).recovered['new-org']).toBe(true);
  }, 30_000);
});

/**
 * Resumes over a raw socket with a small receive buffer, reading in bursts with pauses: the
 * gateway's writes back up. Returns what arrived (task `n`s in order) and how the connection ended.
 */
async function slowResume(port: number, jwt: string, resume: string, total: number): Promise<{ ns: number[]; recovered: unknown; closeCode: number | undefined }> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(`GET /api/ws?resume=${encodeURIComponent(resume)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${jwt}\r\n\r\n`);
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  const ns: number[] = [];
  let recovered: unknown;
  let closeCode: number | undefined;
  const parse = (): void => {
    if (!upgraded) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!buffer.subarray(0, 12).toString().includes('101')) throw new Error(`upgrade refused: ${buffer.toString().slice(0, 200)}`);
      buffer = buffer.subarray(end + 4);
      upgraded = true;
    }
    for (;;) {
      if (buffer.length < 2) return;
      const opcode = buffer[0]! & 0x0f;
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) return;
      const payload = buffer.subarray(offset, offset + length);
      buffer = buffer.subarray(offset + length);
      if (opcode === 8) closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (opcode !== 1) continue;
      const frame = JSON.parse(payload.toString()) as { event_type: string; data: { n?: number; recovered?: unknown } };
      if (frame.event_type === 'connection.established') recovered = frame.data.recovered;
      else if (frame.event_type.startsWith('task.event.')) ns.push(frame.data.n!);
    }
  };
  const deadline = Date.now() + 30_000;
  // Paused: Node stops reading from the kernel once its own buffer is full, so nothing is read for
  // 3 s and the gateway's writes back up (the kernel's receive buffer does not grow unread); then
  // everything is read as fast as it comes.
  socket.pause();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.resume();
  while (Date.now() < deadline && closeCode === undefined && ns.length < total) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (chunks.length > 0) buffer = Buffer.concat([buffer, ...chunks.splice(0)]);
    parse();
  }
  socket.destroy();
  return { ns, recovered, closeCode };
}
