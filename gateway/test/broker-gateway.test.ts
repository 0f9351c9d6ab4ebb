import { connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, token, type RunningGateway } from './helpers/gateway.js';
import { TestPublisher } from './helpers/publisher.js';
import { createTestVhost, randomName, type TestVhost } from './helpers/rabbit.js';
import { createTestRedis, type TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';
import { TestClient } from './helpers/ws-client.js';

async function readyz(gw: RunningGateway): Promise<number> {
  return (await fetch(`${gw.managementUrl}/readyz`)).status;
}

async function metric(gw: RunningGateway, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${gw.managementUrl}/metrics`)).text();
  const match = pattern.exec(text);
  return match === null ? 0 : Number(match[1]);
}

describe('gateway with RabbitMQ and Redis', () => {
  let vhost: TestVhost;
  let redis: TestRedis;
  let gw: RunningGateway;
  let publisher: TestPublisher;
  const exchange = randomName('tasks');
  const clients: TestClient[] = [];
  const connectClient = async (user: string, orgs: string[], issuedAt?: Date): Promise<TestClient> => {
    const c = await TestClient.established(gw.wsUrl, await token(user, orgs, { issuedAt }));
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    [vhost, redis] = await Promise.all([createTestVhost(), createTestRedis()]);
    gw = await startGateway({
      AMQP_URL: vhost.url,
      AMQP_EXCHANGE: exchange,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: redis.prefix,
      READINESS_CANARY_INTERVAL_MS: '200',
      AMQP_RECONNECT_MIN_MS: '50',
      AMQP_RECONNECT_MAX_MS: '500',
    });
    publisher = new TestPublisher(vhost.url, exchange);
    await waitFor(async () => (await readyz(gw)) === 200, 10_000, 'ready');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await publisher?.close();
    await gw?.stop();
    await Promise.all([vhost?.cleanup(), redis?.cleanup()]);
  });

  it('delivers each organization\'s events to its members only, in publish order', async () => {
    const acme = await connectClient('alice', ['acme']);
    const globex = await connectClient('bob', ['globex']);
    const both = await connectClient('carol', ['acme', 'globex']);
    const outsider = await connectClient('dave', ['initech']);
    for (let i = 0; i < 20; i += 1) await publisher.task(i % 2 === 0 ? 'acme' : 'globex', { seq: i }, i % 3 === 0 ? 'task.event.updated' : 'task.event.created');
    await publisher.task('initech', { marker: true });
    // Each socket is read on its own: one client having everything says nothing about another's progress.
    await Promise.all([acme.waitForCount(undefined, 10), globex.waitForCount(undefined, 10), both.waitForCount(undefined, 20), outsider.waitForCount(undefined, 1)]);
    const seqs = (c: TestClient): number[] => c.events().map((e) => (e.data as { seq: number }).seq);
    expect(seqs(acme)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(seqs(globex)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect(seqs(both)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(acme.events().every((e) => e.organization_id === 'acme')).toBe(true);
    expect(outsider.events()).toHaveLength(1);
    expect(outsider.events()[0]!.organization_id).toBe('initech');
    expect(acme.events()[0]).toMatchObject({ event_type: 'task.event.updated', organization_id: 'acme', data: { seq: 0 } });
    expect(await metric(gw, /^orgcast_delivery_latency_seconds_count\{pod="[^"]+"\} (\d+)/m)).toBeGreaterThanOrEqual(21);
    // The same events, stage by stage (this pod sequences and receives them all).
    for (const stage of ['ingest_wait', 'sequencing', 'routing']) {
      expect(await metric(gw, new RegExp(`^orgcast_event_stage_seconds_count\\{[^}]*stage="${stage}"[^}]*\\} (\\d+)`, 'm')), stage).toBeGreaterThanOrEqual(21);
    }
  });

  it('dead-letters poison messages and still delivers the next valid event', async () => {
    const c = await connectClient('erin', ['poison-org']);
    await publisher.raw('task.event.created', '{not json');
    await publisher.raw('task.event.created', JSON.stringify({ data: { no: 'organization' } }));
    await publisher.raw('task.event.created', JSON.stringify([1, 2, 3]));
    await publisher.raw('task.event.deleted', JSON.stringify({ organization_id: 'poison-org' }));
    await publisher.raw('task.event.updated', JSON.stringify({ data: { via: 'header' } }), { organization_id: 'poison-org' });
    await publisher.task('poison-org', { after: 'poison' });
    await c.waitForCount(undefined, 2);
    expect(c.events().map((e) => e.data)).toEqual([{ via: 'header' }, { after: 'poison' }]);
    expect(await metric(gw, /orgcast_events_dead_lettered_total\{reason="malformed_json",pod="[^"]+"\} (\d+)/)).toBe(1);
    const conn = await connect(vhost.url);
    const channel = await conn.createChannel();
    const dlq = await channel.checkQueue(`${exchange}.dead-letter`);
    expect(dlq.messageCount).toBe(4);
    await conn.close();
    expect(await readyz(gw)).toBe(200);
  });

  it('recovers from the broker dropping every connection and loses no event accepted by the broker', async () => {
    const c = await connectClient('frank', ['blip-org']);
    await publisher.task('blip-org', { n: 0 });
    await c.waitForCount(undefined, 1);
    await vhost.closeAllConnections();
    await waitFor(async () => (await readyz(gw)) === 503, 5_000, 'not ready after the broker dropped us');
    // Published while the gateway is reconnecting: they wait in the pod's queue.
    for (let n = 1; n <= 5; n += 1) await publisher.task('blip-org', { n });
    await waitFor(async () => (await readyz(gw)) === 200, 10_000, 'ready again');
    for (let n = 6; n <= 10; n += 1) await publisher.task('blip-org', { n });
    await c.waitForCount(undefined, 11, 10_000);
    expect(c.events().map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: 11 }, (_, i) => i));
    expect(c.closeCode).toBeUndefined();
    expect(await metric(gw, /^orgcast_broker_reconnects_total\{pod="[^"]+"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
  });

  it('applies membership removal and addition live, and remembers them across reconnects', async () => {
    const issuedBefore = new Date(Date.now() - 5_000);
    const grace = await connectClient('grace', ['m-org', 'other-org'], issuedBefore);
    const heidi = await connectClient('heidi', ['m-org']);
    await publisher.membership('organization.member.removed', 'm-org', 'grace');
    await grace.waitFor((f) => f.event_type === 'organization.access.revoked');
    const removedAt = Date.now();
    await publisher.task('m-org', { after: 'removal' });
    await heidi.waitForCount(undefined, 1);
    await publisher.task('other-org', { marker: true });
    await grace.waitForCount(undefined, 1);
    expect(grace.events().map((e) => e.organization_id)).toEqual(['other-org']);
    expect(Date.now() - removedAt).toBeLessThan(1_000);

    // Reconnecting with the old token: accepted, without the organization.
    const again = await connectClient('grace', ['m-org', 'other-org'], issuedBefore);
    expect((again.frames[0]!.data as { organizations: string[] }).organizations).toEqual(['other-org']);
    // A token issued after the removal is authoritative again.
    const fresh = await connectClient('grace', ['m-org'], new Date(Date.now() + 1_000));
    expect((fresh.frames[0]!.data as { organizations: string[] }).organizations).toEqual(['m-org']);

    // Added: live connections start receiving without reconnecting.
    await publisher.membership('organization.member.added', 'new-org', 'heidi');
    await heidi.waitFor((f) => f.event_type === 'organization.access.granted');
    await publisher.task('new-org', { welcome: true });
    await heidi.waitFor((f) => f.organization_id === 'new-org');
  });

  it('reports not ready when its own queue stops receiving, and ready again when it does', async () => {
    const conn = await connect(vhost.url);
    const channel = await conn.createChannel();
    const queue = gw.config.amqp!.queueName;
    const canaryKey = `orgcast.canary.${gw.config.podName}`;
    await channel.unbindQueue(queue, `${exchange}.routed`, canaryKey);
    await waitFor(async () => (await readyz(gw)) === 503, 5_000, 'not ready without canaries');
    const body = (await (await fetch(`${gw.managementUrl}/readyz`)).json()) as { checks: Record<string, boolean> };
    expect(body.checks).toMatchObject({ broker: false, redis: true, listening: true });
    await channel.bindQueue(queue, `${exchange}.routed`, canaryKey);
    await waitFor(async () => (await readyz(gw)) === 200, 5_000, 'ready again');
    await conn.close();
  });
});
