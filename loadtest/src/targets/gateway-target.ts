import { createAmqpLoadPublisher } from '../publisher/amqp-load-publisher.js';
import { deleteAmqpObjects } from './amqp-cleanup.js';
import { deleteRedisPrefix } from './redis-cleanup.js';
import { siblingModule } from './module-path.js';
import { SpawnedServer, parseGatewayListening, profileOptions, startAll } from './spawned-server.js';
import type { Target } from './target.js';
import { waitForHttpOk } from './wait-ready.js';

export interface GatewayTargetOptions {
  /** Write CPU profiles of the server processes into this folder. */
  readonly profileDir?: string | undefined;
  readonly runId: string;
  readonly pods: number;
  /** What the gateway verifies tokens with: the HS256 secret, the ES256 public key, or both. */
  readonly verification: Verification;
  readonly amqpUrl: string;
  /** Shared state in Redis, as in production; omit to run the gateway without it. */
  readonly redisUrl?: string;
  readonly maxConnectionsPerPod: number;
  /** Extra/overriding gateway environment (e.g. HEARTBEAT_INTERVAL_MS). */
  readonly env?: Readonly<Record<string, string>>;
  readonly startTimeoutMs?: number;
}

export interface Verification {
  readonly secret?: string;
  readonly publicKeyPem?: string;
}

/**
 * The gateway environment of a load-test run (pods started directly or by the cluster harness): a
 * run-private exchange, queue prefix and Redis key prefix, connection rate limits lifted (all
 * clients come from a few loopback addresses), no drain window, no shedding while clients ramp up.
 */
export function loadtestGatewayEnv(options: Omit<GatewayTargetOptions, 'pods' | 'startTimeoutMs'>): Record<string, string> {
  return {
    PORT: '0',
    MANAGEMENT_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...(options.verification.secret !== undefined && { JWT_SECRET: options.verification.secret }),
    ...(options.verification.publicKeyPem !== undefined && { JWT_PUBLIC_KEY: options.verification.publicKeyPem }),
    AMQP_URL: options.amqpUrl,
    AMQP_EXCHANGE: gatewayExchange(options.runId),
    AMQP_QUEUE_PREFIX: gatewayQueuePrefix(options.runId),
    AMQP_QUEUE_EXPIRES_MS: '10000',
    ...(options.redisUrl !== undefined && { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: `lt:${options.runId}:` }),
    CONNECT_RATE_PER_SECOND: '1000000',
    CONNECT_RATE_BURST: '1000000',
    MAX_CONNECTIONS: String(options.maxConnectionsPerPod),
    MAX_CONNECTIONS_PER_USER: '100',
    DRAIN_WINDOW_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '5000',
    // Shedding would close connections of a pod that is momentarily above the mean while clients ramp up.
    REBALANCE_INTERVAL_MS: '0',
    DEV_PUBLISH_ENABLED: 'false',
    ...options.env,
  };
}

export const gatewayExchange = (runId: string): string => `lt.${runId}`;
export const gatewayQueuePrefix = (runId: string): string => `lt.${runId}.pod.`;

/** Deletes what a run's gateways created in RabbitMQ and Redis. */
export async function cleanupGatewayRun(options: { runId: string; amqpUrl: string; redisUrl?: string | undefined; podNames: readonly string[] }): Promise<void> {
  const exchange = gatewayExchange(options.runId);
  await deleteAmqpObjects(options.amqpUrl, {
    queues: [...options.podNames.map((name) => `${gatewayQueuePrefix(options.runId)}${name}`), `${exchange}.dead-letter`, `${exchange}.ingest`, `${exchange}.overflow`],
    exchanges: [exchange, `${exchange}.dead-letter`, `${exchange}.routed`, `${exchange}.overflow`],
  });
  if (options.redisUrl !== undefined) await deleteRedisPrefix(options.redisUrl, `lt:${options.runId}:`);
}

/**
 * N gateway processes started directly (one port each, no load balancer) against the local
 * RabbitMQ (and Redis), with the environment of loadtestGatewayEnv.
 */
export async function startGatewayTarget(options: GatewayTargetOptions): Promise<Target> {
  const exchange = gatewayExchange(options.runId);
  const script = siblingModule(import.meta.url, '../../../gateway/src/main');
  const env = (pod: number): Record<string, string> => ({ ...loadtestGatewayEnv(options), POD_NAME: `lt-${options.runId}-${pod}` });
  const start = async (pod: number): Promise<SpawnedServer> => {
    const server = await SpawnedServer.start({ name: `orgcast-${pod}`, script, env: env(pod), parseListening: parseGatewayListening, nodeOptions: profileOptions(options.profileDir), startTimeoutMs: options.startTimeoutMs ?? 30_000 });
    await waitForHttpOk(`http://127.0.0.1:${server.listening.metricsPort}/readyz`, options.startTimeoutMs ?? 30_000);
    return server;
  };
  const pods = await startAll(options.pods, start);
  const publisher = await createAmqpLoadPublisher({ url: options.amqpUrl, exchange });
  return {
    kind: 'orgcast',
    protocol: 'orgcast',
    endpoints: () => pods.map((p) => ({ host: '127.0.0.1', port: p.listening.port })),
    servers: () => pods.map((p, i) => ({ name: `orgcast-${i}`, role: 'server' as const, pid: p.pid, metricsUrl: `http://127.0.0.1:${p.listening.metricsPort}/metrics` })),
    publisher,
    killPod: async (index) => {
      await pods[index]?.kill();
    },
    restartPod: async (index) => {
      pods[index] = await start(index);
    },
    stop: async () => {
      // The servers stop whatever the publisher's close says (a broker that closed the channel):
      // a failed run must not leave gateways behind.
      try {
        await publisher.close();
      } finally {
        await Promise.all(pods.map((p) => p.stop()));
        await cleanupGatewayRun({ ...options, podNames: pods.map((_, i) => `lt-${options.runId}-${i}`) });
      }
    },
  };
}

