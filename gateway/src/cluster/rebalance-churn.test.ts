import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../test/harness/cluster.js';
import { TEST_SECRET, token } from '../../test/helpers/gateway.js';
import { TestClient } from '../../test/helpers/ws-client.js';

/**
 * Rebalancing behind a consistent-hashing load balancer (the nginx harness hashing on the token),
 * with real gateways, Redis and RabbitMQ. A client shed with 4002 reconnects with the same token,
 * so the balancer sends it straight back; shedding such clients can never even the pods out.
 */
const INTERVAL_MS = 1_000;

interface Shed { readonly atMs: number; readonly pod: string }

/** A client that reconnects through nginx, with the same token, whenever it is shed (4002). */
class StickyClient {
  client: TestClient | undefined;
  pod = '';
  stopped = false;

  constructor(private readonly url: string, private readonly token: string, private readonly sheds: Shed[]) {}

  async connect(): Promise<void> {
    const client = await TestClient.established(`${this.url}?access_token=${this.token}`, this.token);
    this.client = client;
    this.pod = (client.frames[0]!.data as { pod: string }).pod;
    void client.closed.then(async (code) => {
      if (this.stopped) return;
      if (code === 4002) this.sheds.push({ atMs: Date.now(), pod: this.pod });
      await this.connect();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.close();
  }
}

describe('rebalancing behind consistent hashing', () => {
  let cluster: Cluster | undefined;
  const clients: StickyClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await cluster?.stop();
  }, 30_000);

  it('settles after a scale-out: it stops shedding clients that the balancer sends straight back', { timeout: 90_000 }, async () => {
    const run = randomBytes(3).toString('hex');
    cluster = await startCluster({
      pods: 1,
      hashKey: 'arg_access_token',
      namePrefix: `churn-${run}`,
      env: {
        JWT_SECRET: TEST_SECRET,
        AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
        REDIS_URL: 'redis://127.0.0.1:6379',
        REDIS_KEY_PREFIX: `orgcast-churn-${run}:`,
        AMQP_EXCHANGE: `orgcast-churn-${run}`,
        CONNECT_RATE_BURST: '1000',
        PRESENCE_HEARTBEAT_MS: '200',
        PRESENCE_TTL_MS: '2000',
        REBALANCE_INTERVAL_MS: String(INTERVAL_MS),
        REBALANCE_TOLERANCE_PERCENT: '10',
        REBALANCE_MAX_PER_INTERVAL: '2',
        DRAIN_WINDOW_MS: '200',
        SHUTDOWN_TIMEOUT_MS: '3000',
      },
    });
    const sheds: Shed[] = [];
    // Six connections of one user with one token (one hash key: always one pod, whichever),
    // and four users with a token each. Before the scale-out all ten are on the only pod.
    const pinned = await token('pinned-user', ['acme']);
    const tokens = [...Array.from({ length: 6 }, () => pinned), ...(await Promise.all([0, 1, 2, 3].map((i) => token(`user-${i}`, ['acme']))))];
    for (const t of tokens) {
      const client = new StickyClient(cluster.wsUrl, t, sheds);
      await client.connect();
      clients.push(client);
    }
    expect(new Set(clients.map((c) => c.pod)).size).toBe(1);

    // Scale-out: a second pod joins nginx's ring. The pod holding the six pinned connections stays
    // above the mean (5) whatever it sheds: they come back.
    const scaledAt = Date.now();
    await cluster.addPod();
    await new Promise((resolve) => setTimeout(resolve, 16 * INTERVAL_MS));
    const lastWindowStart = Date.now() - 6 * INTERVAL_MS;
    const late = sheds.filter((s) => s.atMs >= lastWindowStart);

    expect(sheds.length, 'it does rebalance after the scale-out').toBeGreaterThan(0);
    expect(sheds.every((s) => s.atMs >= scaledAt)).toBe(true);
    expect(late, `4002 closes in the last 6 intervals (of ${sheds.length} in all)`).toEqual([]);
    expect(sheds.length).toBeLessThanOrEqual(12);
    // Nobody was lost on the way: every client is connected again.
    await Promise.all(clients.map((c) => c.client!.waitFor((f) => f.event_type === 'connection.established')));
    expect(clients.every((c) => c.client!.closeCode === undefined)).toBe(true);
  });
});
