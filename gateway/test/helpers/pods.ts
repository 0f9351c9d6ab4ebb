import { startGateway, type RunningGateway } from './gateway.js';
import { TestPublisher } from './publisher.js';
import { createTestVhost, randomName, type TestVhost } from './rabbit.js';
import { createTestRedis, type TestRedis } from './redis.js';
import { waitFor } from './wait.js';

/** Several in-process gateway pods sharing one RabbitMQ vhost, exchange and Redis prefix. */
export interface Pods {
  readonly pods: RunningGateway[];
  readonly vhost: TestVhost;
  readonly redis: TestRedis;
  readonly exchange: string;
  readonly publisher: TestPublisher;
  readonly env: Record<string, string>;
  add(extra?: Record<string, string>): Promise<RunningGateway>;
  stop(): Promise<void>;
}

export async function startPods(count: number, extra: Record<string, string> = {}): Promise<Pods> {
  const [vhost, redis] = await Promise.all([createTestVhost(), createTestRedis()]);
  const exchange = randomName('tasks');
  const env: Record<string, string> = {
    AMQP_URL: vhost.url,
    AMQP_EXCHANGE: exchange,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: redis.prefix,
    READINESS_CANARY_INTERVAL_MS: '200',
    AMQP_RECONNECT_MIN_MS: '50',
    AMQP_RECONNECT_MAX_MS: '500',
    PRESENCE_HEARTBEAT_MS: '250',
    PRESENCE_TTL_MS: '1000',
    FEED_LINGER_MS: '200',
    ...extra,
  };
  const pods: RunningGateway[] = [];
  const add = async (more: Record<string, string> = {}): Promise<RunningGateway> => {
    const pod = await startGateway({ ...env, ...more });
    pods.push(pod);
    await waitFor(async () => (await fetch(`${pod.managementUrl}/readyz`)).status === 200, 10_000, `pod ${pod.config.podName} ready`);
    return pod;
  };
  for (let i = 0; i < count; i += 1) await add();
  const publisher = new TestPublisher(vhost.url, exchange);
  return {
    pods,
    vhost,
    redis,
    exchange,
    publisher,
    env,
    add,
    async stop() {
      await publisher.close();
      await Promise.all(pods.map((p) => p.stop()));
      await Promise.all([vhost.cleanup(), redis.cleanup()]);
    },
  };
}

export async function metricValue(pod: RunningGateway, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${pod.managementUrl}/metrics`)).text();
  const match = pattern.exec(text);
  return match === null ? 0 : Number(match[1]);
}
