import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, token, type RunningGateway } from './helpers/gateway.js';
import { PrivateRedis } from './helpers/private-redis.js';
import { TestPublisher } from './helpers/publisher.js';
import { createTestVhost, randomName, type TestVhost } from './helpers/rabbit.js';
import { waitFor } from './helpers/wait.js';
import { TestClient, expectRefused } from './helpers/ws-client.js';

const readyz = async (pod: RunningGateway): Promise<number> => (await fetch(`${pod.managementUrl}/readyz`)).status;

describe('Redis restart mid-stream', () => {
  let redis: PrivateRedis;
  let vhost: TestVhost;
  let pods: RunningGateway[];
  let publisher: TestPublisher;
  const exchange = randomName('tasks');

  beforeAll(async () => {
    [redis, vhost] = await Promise.all([PrivateRedis.start(), createTestVhost()]);
    const env = {
      AMQP_URL: vhost.url,
      AMQP_EXCHANGE: exchange,
      REDIS_URL: redis.url,
      READINESS_CANARY_INTERVAL_MS: '200',
      PRESENCE_HEARTBEAT_MS: '250',
      PRESENCE_TTL_MS: '1000',
      MAX_CONNECTIONS_PER_USER: '2',
    };
    pods = [await startGateway(env), await startGateway(env)];
    publisher = new TestPublisher(vhost.url, exchange);
    for (const pod of pods) await waitFor(async () => (await readyz(pod)) === 200, 10_000, 'ready');
  });
  afterAll(async () => {
    await publisher?.close();
    await Promise.all((pods ?? []).map((p) => p.stop()));
    await Promise.all([redis?.stop(), vhost?.cleanup()]);
  });

  it('pods go not ready, recover by themselves, and every event the broker accepted is delivered once', async () => {
    const clients = await Promise.all(pods.map(async (pod, i) => TestClient.established(pod.wsUrl, await token(`r-${i}`, ['redis-org']))));
    await publisher.tasks(Array.from({ length: 50 }, (_, n) => ({ organizationId: 'redis-org', data: { n } })));
    await Promise.all(clients.map((c) => c.waitForCount(undefined, 50)));

    await redis.kill();
    await waitFor(async () => (await Promise.all(pods.map(readyz))).every((s) => s === 503), 10_000, 'not ready without Redis');
    // Accepted by the broker while Redis is down: they wait in the ingest queue.
    await publisher.tasks(Array.from({ length: 50 }, (_, n) => ({ organizationId: 'redis-org', data: { n: 50 + n } })));
    await redis.restart();
    await waitFor(async () => (await Promise.all(pods.map(readyz))).every((s) => s === 200), 20_000, 'ready again');
    await publisher.tasks(Array.from({ length: 50 }, (_, n) => ({ organizationId: 'redis-org', data: { n: 100 + n } })));

    for (const client of clients) {
      await client.waitForCount(undefined, 150, 20_000);
      expect(client.events().map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: 150 }, (_, n) => n));
      expect(client.closeCode).toBeUndefined();
    }
    await Promise.all(clients.map((c) => c.close()));
  }, 60_000);

  it('a loss of Redis\'s data is detected, never reported as recovered, and no revocation is silently forgotten', async () => {
    // The restart above was a loss too: tokens are refused if issued before it was seen (iat has seconds).
    const losses = async (n: number): Promise<void> => {
      for (const pod of pods) await waitFor(async () => new RegExp(`orgcast_store_data_losses_total\\{[^}]*\\} ${n}`).test(await (await fetch(`${pod.managementUrl}/metrics`)).text()), 5_000, `loss ${n} seen`);
    };
    await losses(1);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const before = await TestClient.established(pods[0]!.wsUrl, await token('lou', ['loss-org']));
    await publisher.tasks(Array.from({ length: 5 }, (_, n) => ({ organizationId: 'loss-org', data: { n } })));
    const preLoss = await before.waitForCount(undefined, 5);
    // vic is removed from loss-org; his token (issued earlier) still claims it.
    const vicToken = await token('vic', ['loss-org']);
    await publisher.membership('organization.member.removed', 'loss-org', 'vic');
    await waitFor(async () => (await TestClient.established(pods[1]!.wsUrl, vicToken).then(async (c) => {
      const organizations = (c.frames[0]!.data as { organizations: string[] }).organizations;
      await c.close();
      return organizations;
    })).length === 0, 5_000, 'the removal applied');

    // wes holds his two connections (the per-user limit) across the loss, one on each pod.
    const wesToken = await token('wes', []);
    const wes = [await TestClient.established(pods[0]!.wsUrl, wesToken), await TestClient.established(pods[1]!.wsUrl, wesToken)];
    expect(await expectRefused(pods[0]!.wsUrl, { token: wesToken })).toMatchObject({ status: 429 });

    await redis.kill();
    await redis.restart();
    await before.waitFor((f) => f.event_type === 'organization.resync' && (f.data as { reason: string }).reason === 'history_lost', 10_000);
    await losses(2);
    await waitFor(async () => (await Promise.all(pods.map(readyz))).every((s) => s === 200), 20_000, 'ready again');

    // The revocation is gone with the data: vic's old token is refused, not trusted.
    for (const pod of pods) expect(await expectRefused(pod.wsUrl, { token: vicToken })).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const fresh = await TestClient.established(pods[1]!.wsUrl, await token('vic', []));
    await fresh.close();
    // The pods restored their counts into the emptied store: the limit still sees wes's two connections.
    const wesAgain = await token('wes', []);
    for (const pod of pods) expect(await expectRefused(pod.wsUrl, { token: wesAgain })).toMatchObject({ status: 429, body: { error: 'too_many_connections' } });
    await wes[1]!.close();
    let third: TestClient | undefined;
    await waitFor(async () => (third = await TestClient.established(pods[0]!.wsUrl, wesAgain).catch(() => undefined)) !== undefined, 5_000, 'a slot freed');
    await Promise.all([wes[0]!.close(), third?.close()]);
    // A resume from before the loss is not recovered.
    const resumed = await TestClient.established(`${pods[1]!.wsUrl}?resume=${encodeURIComponent(`loss-org:${preLoss[4]!.id}`)}`, await token('lou', ['loss-org']));
    expect((resumed.frames[0]!.data as { recovered: Record<string, boolean> }).recovered).toEqual({ 'loss-org': false });
    // And the live connection goes on, gap-free, after the resync.
    await publisher.tasks([{ organizationId: 'loss-org', data: { n: 99 } }]);
    await before.waitForCount(undefined, 6);
    await resumed.waitForCount(undefined, 1);
    await Promise.all([before.close(), resumed.close()]);
  }, 60_000);
});
