import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startCluster, type Cluster } from '../harness/cluster.js';
import { createTestVhost, type TestVhost } from '../helpers/rabbit.js';
import { deleteByPrefix, TEST_REDIS_URL } from '../helpers/redis.js';
import { CONTENT_MATCH_MESSAGE } from '../../src/sequencing/sequencer.js';

export const QUEUE_PREFIX = 'orgcast.pod.';
export const MAX_EVENT_BYTES = 64 * 1024;

export interface PodErrors {
  count: number;
  /** Per message (addresses elided), how many lines; the first 50 messages. */
  readonly byMessage: Map<string, number>;
}

/** The run's private corner of the shared services, and the pods behind nginx. */
export interface ChaosCluster {
  readonly id: string;
  readonly cluster: Cluster;
  readonly vhost: TestVhost;
  readonly exchange: string;
  readonly keyPrefix: string;
  readonly secret: string;
  /** For CLIENT PAUSE, history reads and cleanup. */
  readonly redis: Redis;
  /** Error-level log lines of the pods: how many, and how many of each message. */
  readonly podErrors: PodErrors;
  /** `<organization> <entry id>` → how many redeliveries without message id the pods logged taking for that entry. */
  readonly contentMatches: ReadonlyMap<string, number>;
  /** Stops nginx and the pods, deletes the vhost and the keys (each step even if another fails). */
  stop(): Promise<void>;
}

/**
 * `pods` gateway processes (the real entry point) in connected mode, behind nginx hashing on the
 * SDK's `affinity` and the token: their own vhost (the broker's faults stay inside it, but for
 * stop_app), exchange and Redis key prefix; an HS256 secret; short reconnect, presence and linger
 * times so that faults are noticed and recovered within a short run; a small pod-queue prefetch so
 * that a stopped pod's queue really fills.
 */
export async function startChaosCluster(options: { readonly pods: number; readonly log: (line: string) => void }): Promise<ChaosCluster> {
  const id = randomBytes(4).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const exchange = `chaos-${id}`;
  const keyPrefix = `chaos:${id}:`;
  const vhost = await createTestVhost(`orgcast-chaos-${id}`);
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
  const podErrors: PodErrors = { count: 0, byMessage: new Map() };
  const contentMatches = new Map<string, number>();
  const cleanup = async (cluster: Cluster | undefined): Promise<void> => {
    const problems: unknown[] = [];
    await cluster?.stop().catch((e: unknown) => problems.push(e));
    await vhost.cleanup().catch((e: unknown) => problems.push(e));
    await deleteByPrefix(redis, keyPrefix).catch((e: unknown) => problems.push(e));
    await redis.quit().catch(() => redis.disconnect());
    if (problems.length > 0) throw new AggregateError(problems, 'chaos cleanup failed');
  };
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster({
      pods: options.pods,
      namePrefix: `chaos-${id}`,
      hashKey: '$arg_affinity$http_authorization$arg_access_token',
      startTimeoutMs: 60_000,
      stopTimeoutMs: 10_000,
      env: {
        JWT_SECRET: secret,
        AMQP_URL: vhost.url,
        AMQP_EXCHANGE: exchange,
        AMQP_QUEUE_PREFIX: QUEUE_PREFIX,
        AMQP_PREFETCH: '20',
        AMQP_QUEUE_EXPIRES_MS: '120000',
        AMQP_RECONNECT_MIN_MS: '100',
        AMQP_RECONNECT_MAX_MS: '2000',
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: keyPrefix,
        READINESS_CANARY_INTERVAL_MS: '1000',
        PRESENCE_HEARTBEAT_MS: '1000',
        PRESENCE_TTL_MS: '4000',
        FEED_LINGER_MS: '3000',
        FEED_CHECK_INTERVAL_MS: '5000',
        HISTORY_MAX_LENGTH: '1000000',
        MAX_EVENT_BYTES: String(MAX_EVENT_BYTES),
        CONNECT_RATE_PER_SECOND: '1000',
        CONNECT_RATE_BURST: '2000',
        SHUTDOWN_TIMEOUT_MS: '5000',
        DRAIN_WINDOW_MS: '1000',
        LOG_LEVEL: 'info',
      },
      onLog: (pod, entry) => {
        if (entry['msg'] === CONTENT_MATCH_MESSAGE) {
          const key = `${String(entry['organization'])} ${String(entry['entry'])}`;
          contentMatches.set(key, (contentMatches.get(key) ?? 0) + 1);
        }
        const level = entry['level'];
        if (!(level === 'error' || level === 'fatal' || (typeof level === 'number' && level >= 50))) return;
        podErrors.count += 1;
        const err = entry['err'] as { message?: unknown } | undefined;
        const message = `${String(entry['msg'] ?? '')}${typeof err?.message === 'string' ? `: ${err.message.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, '<address>')}` : ''}`;
        if (podErrors.byMessage.has(message) || podErrors.byMessage.size < 50) podErrors.byMessage.set(message, (podErrors.byMessage.get(message) ?? 0) + 1);
      },
    });
  } catch (error) {
    await cleanup(undefined).catch(() => undefined);
    throw error;
  }
  options.log(`cluster ${id}: ${options.pods} pods behind nginx at ${cluster.httpUrl}, vhost ${vhost.vhost}, exchange ${exchange}, key prefix ${keyPrefix}`);
  const running = cluster;
  return { id, cluster: running, vhost, exchange, keyPrefix, secret, redis, podErrors, contentMatches, stop: () => cleanup(running) };
}
