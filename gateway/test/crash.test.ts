import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './harness/index.js';
import { TEST_SECRET, token } from './helpers/gateway.js';
import { TestPublisher } from './helpers/publisher.js';
import { createTestVhost, randomName, type TestVhost } from './helpers/rabbit.js';
import { createTestRedis, type TestRedis } from './helpers/redis.js';
import { ResumingClient } from './helpers/resuming-client.js';
import { waitFor } from './helpers/wait.js';
import { TestClient } from './helpers/ws-client.js';

/** Three gateway processes behind nginx; one is killed with SIGKILL while events flow. */
describe('crash of one pod of three (kill -9) while events flow', () => {
  let vhost: TestVhost;
  let redis: TestRedis;
  let cluster: Cluster;
  let publisher: TestPublisher;
  const exchange = randomName('tasks');

  beforeAll(async () => {
    [vhost, redis] = await Promise.all([createTestVhost(), createTestRedis()]);
    cluster = await startCluster({
      pods: 3,
      env: {
        JWT_SECRET: TEST_SECRET,
        AMQP_URL: vhost.url,
        AMQP_EXCHANGE: exchange,
        REDIS_URL: 'redis://127.0.0.1:6379',
        REDIS_KEY_PREFIX: redis.prefix,
        READINESS_CANARY_INTERVAL_MS: '200',
        AMQP_RECONNECT_MIN_MS: '50',
        PRESENCE_HEARTBEAT_MS: '250',
        PRESENCE_TTL_MS: '1500',
        MAX_CONNECTIONS_PER_USER: '2',
      },
      onLog: (pod, entry) => {
        if (process.env.CRASH_DEBUG && entry.level !== 'info') process.stderr.write(`${pod} ${JSON.stringify(entry)}\n`);
      },
    });
    publisher = new TestPublisher(vhost.url, exchange);
  }, 60_000);
  afterAll(async () => {
    await publisher?.close();
    await cluster?.stop();
    await Promise.all([vhost?.cleanup(), redis?.cleanup()]);
  }, 60_000);

  it('clients of the dead pod resume on the others: no event lost or duplicated, counted at the clients', async () => {
    const organizations = ['crash-a', 'crash-b', 'crash-c', 'crash-d'];
    const clients = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const orgs = organizations.filter((_, j) => (i + j) % 2 === 0);
      const client = new ResumingClient(() => cluster.wsUrl, await token(`crash-user-${i}`, orgs));
      await client.connect();
      return { client, orgs };
    }));
    const victim = cluster.pods[0]!.name;
    const onVictim = clients.filter((c) => c.client.pods[0] === victim);
    expect(onVictim.length).toBeGreaterThan(0);

    const total = 1_500;
    let published = 0;
    const flow = (async () => {
      while (published < total) {
        const batch = Array.from({ length: 50 }, (_, k) => ({ organizationId: organizations[(published + k) % organizations.length]!, data: { seq: published + k } }));
        await publisher.tasks(batch);
        published += batch.length;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await waitFor(() => published >= total / 3, 20_000, 'a third published');
    await cluster.kill(victim, 'SIGKILL');
    await flow;

    const expected = (orgs: string[]): number[] => Array.from({ length: total }, (_, seq) => seq).filter((seq) => orgs.includes(organizations[seq % organizations.length]!));
    for (const { client, orgs } of clients) {
      const want = expected(orgs);
      await waitFor(() => client.received.length >= want.length, 30_000, `client ${client.pods.join('>')} has ${client.received.length}/${want.length}`);
      await new Promise((r) => setTimeout(r, 50));
      const { duplicates, outOfOrder } = client.check();
      expect({ duplicates, outOfOrder }).toEqual({ duplicates: 0, outOfOrder: 0 });
      expect(client.received.map((e) => (e.data as { seq: number }).seq).sort((a, b) => a - b)).toEqual(want);
    }
    for (const { client } of onVictim) {
      expect(client.pods.length).toBeGreaterThanOrEqual(2);
      expect(client.pods[client.pods.length - 1]).not.toBe(victim);
      expect(client.recoveredFlags.every((flags) => Object.values(flags).every(Boolean))).toBe(true);
    }
    for (const { client } of clients) client.close();
  }, 120_000);

  it('forgets the dead pod\'s presence: its connections stop counting and its entries are reaped', async () => {
    const survivor = cluster.pods.find((p) => p.alive)!;
    const t = await token('ghost-user', ['acme']);
    const a = await TestClient.established(survivor.wsUrl, t);
    const b = await TestClient.established(survivor.wsUrl, t);
    await expect(TestClient.connect(survivor.wsUrl, { token: t })).rejects.toMatchObject({ status: 429 });
    await Promise.all([a.close(), b.close()]);
    // The killed pod's entries (from the first test's users) are gone within the TTL.
    await waitFor(async () => (await redis.redis.zrange(`${redis.prefix}{presence}:pods`, '0', '-1')).length === 2, 10_000, 'dead pod reaped');
    const users = await redis.redis.keys(`${redis.prefix}{presence}:pod:${cluster.pods[0]!.name}`);
    expect(users).toEqual([]);
  });
});
