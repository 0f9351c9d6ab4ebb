import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, token, type RunningGateway } from './helpers/gateway.js';
import { PrivateRedis } from './helpers/private-redis.js';
import { TestPublisher } from './helpers/publisher.js';
import { createTestVhost, randomName, type TestVhost } from './helpers/rabbit.js';
import { waitFor } from './helpers/wait.js';
import { TestClient } from './helpers/ws-client.js';

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
});
