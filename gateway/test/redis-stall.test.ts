import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyStreamKey } from '../src/history/history-keys.js';
import { startGateway, token, type RunningGateway } from './helpers/gateway.js';
import { PrivateRedis } from './helpers/private-redis.js';
import { TestPublisher } from './helpers/publisher.js';
import { createTestVhost, randomName, type TestVhost } from './helpers/rabbit.js';
import { waitFor } from './helpers/wait.js';
import { expectRefused, TestClient } from './helpers/ws-client.js';

/** Longer than the gateway's Redis command timeout (2 s): the first appends of the stall time out, later ones do not. */
const STALL_MS = 2_800;
const TWINS_STALL_MS = 5_000;

describe('Redis stalls longer than the command timeout mid-stream', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  let vhost: TestVhost;
  let pod: RunningGateway;
  let publisher: TestPublisher;
  const exchange = randomName('tasks');

  beforeAll(async () => {
    [redis, vhost] = await Promise.all([PrivateRedis.start(), createTestVhost()]);
    admin = new Redis(redis.url);
    pod = await startGateway({ AMQP_URL: vhost.url, AMQP_EXCHANGE: exchange, REDIS_URL: redis.url, READINESS_CANARY_INTERVAL_MS: '200' });
    publisher = new TestPublisher(vhost.url, exchange);
    await waitFor(async () => (await fetch(`${pod.managementUrl}/readyz`)).status === 200, 10_000, 'ready');
  });
  afterAll(async () => {
    await publisher?.close();
    await pod?.stop();
    admin?.disconnect();
    await Promise.all([redis?.stop(), vhost?.cleanup()]);
  });

  it('delivers every event once, in order, though appends whose replies timed out are retried after later ones landed', async () => {
    const client = await TestClient.established(pod.wsUrl, await token('stall-user', ['stall-a', 'stall-b']));
    const organizationOf = (n: number): string => (n % 3 === 0 ? 'stall-b' : 'stall-a');
    await publisher.tasks(Array.from({ length: 10 }, (_, n) => ({ organizationId: organizationOf(n), data: { n } })));
    await client.waitForCount(undefined, 10);

    // Scripts (every append) wait while writes are paused; the gateway's first appends time out,
    // run when the pause ends, and are retried (their dedupe keys answer); the later ones succeed.
    await admin.call('CLIENT', 'PAUSE', String(STALL_MS), 'WRITE');
    const total = 110;
    for (let n = 10; n < total; n += 1) {
      await publisher.tasks([{ organizationId: organizationOf(n), data: { n } }]);
      await new Promise((resolve) => setTimeout(resolve, STALL_MS / 100));
    }
    await client.waitForCount(undefined, total, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // nothing more may come
    expect(client.events().map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: total }, (_, n) => n));
    const text = await (await fetch(`${pod.managementUrl}/metrics`)).text();
    expect(text, 'the stall made appends time out').toMatch(/orgcast_events_sequenced_total\{result="duplicate",pod="[^"]+"\} [1-9]/);
    expect(client.closeCode).toBeUndefined();
    await client.close();
  }, 60_000);

  it('stores byte-identical bodies without a message id once each, though every append of them timed out and was retried', async () => {
    const client = await TestClient.established(pod.wsUrl, await token('twin-user', ['twins']));
    // Three first deliveries of one body (done → done → done, no message id, same timestamp):
    // three events. Their appends wait out the pause, time out, run, and are retried.
    const body = JSON.stringify({ organization_id: 'twins', data: { id: 't-1', status: 'done' } });
    const retriedBefore = await duplicates();
    // Long enough past the 2 s command timeout that all three appends are issued, and time out, within it.
    await admin.call('CLIENT', 'PAUSE', String(TWINS_STALL_MS), 'WRITE');
    for (let i = 0; i < 3; i += 1) await publisher.raw('task.event.updated', body, { 'x-published-at-ms': 1_796_000_000_000 });
    await client.waitForCount(undefined, 3, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // nothing more may come
    const events = client.events();
    expect(events).toHaveLength(3);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    // History is the source of truth: exactly three entries, the ones the client got.
    const entries = await admin.xrange(historyStreamKey('orgcast:', 'twins'), '-', '+');
    expect(entries.map(([id]) => id)).toEqual(events.map((e) => e.id));
    expect(await duplicates(), 'each of the three appends timed out, ran, and was retried').toBeGreaterThanOrEqual(retriedBefore + 3);
    await client.close();
  }, 60_000);

  it('refuses upgrades and polls that need the stalled store with 503 unavailable and Retry-After, not a 500', async () => {
    const bearer = await token('stalled-user', ['stall-c']);
    await admin.call('CLIENT', 'PAUSE', String(STALL_MS), 'WRITE');
    const [upgrade, poll] = await Promise.all([
      expectRefused(pod.wsUrl, { headers: { authorization: `Bearer ${bearer}` } }),
      fetch(`${pod.httpUrl}/api/poll?timeout_ms=0&resume=stall-c%3A0-0`, { headers: { authorization: `Bearer ${bearer}` } }),
    ]);
    expect(upgrade).toMatchObject({ status: 503, body: { error: 'unavailable' } });
    expect(poll.status).toBe(503);
    expect(poll.headers.get('retry-after')).toBe('1');
    expect(await poll.json()).toMatchObject({ error: 'unavailable' });
    const text = await (await fetch(`${pod.managementUrl}/metrics`)).text();
    expect(text).not.toMatch(/orgcast_handler_errors_total\{handler="upgrade",pod="[^"]+"\} [1-9]/);
    expect(text).toMatch(/orgcast_connections_refused_total\{reason="store_unavailable",pod="[^"]+"\} [1-9]/);
    // Once the store is back, the same requests succeed.
    await waitFor(async () => (await fetch(`${pod.httpUrl}/api/poll?timeout_ms=0&resume=stall-c%3A0-0`, { headers: { authorization: `Bearer ${bearer}` } })).status === 200, 10_000, 'polls answered again');
    const client = await TestClient.established(pod.wsUrl, bearer);
    await client.close();
  }, 60_000);

  /** Appends answered as already done (a retry whose first attempt had landed). */
  async function duplicates(): Promise<number> {
    const text = await (await fetch(`${pod.managementUrl}/metrics`)).text();
    return Number(/orgcast_events_sequenced_total\{result="duplicate",pod="[^"]+"\} (\d+)/.exec(text)?.[1] ?? 0);
  }
});
