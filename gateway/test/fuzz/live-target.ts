import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { spawnGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { createTestVhost, type TestVhost } from '../helpers/rabbit.js';
import { createTestRedis, TEST_REDIS_URL, type TestRedis } from '../helpers/redis.js';
import type { Violation } from './violations.js';

/**
 * The gateway under fuzz: the real entry point in cluster mode (RabbitMQ and Redis), with its own
 * vhost, exchange and key prefix, and the monitors that watch it for the whole run: the process
 * stays up, `/healthz` answers 200, no log line of level error or above and no stack trace.
 */

/** Limits the fuzz relies on (the oracles read them). Generous where the defaults would end most connections at once. */
export const FUZZ_LIMITS = {
  maxPayloadBytes: 4_096,
  malformedFrameLimit: 50,
  rateLimitStrikes: 20,
  clientMessagesPerSecond: 5_000,
  clientMessagesBurst: 500,
  pollMaxTimeoutMs: 1_000,
  maxTokenBytes: 8_192,
} as const;

export interface LiveTarget {
  readonly gateway: GatewayProcess;
  readonly id: string;
  readonly exchange: string;
  readonly amqpUrl: string;
  readonly wsUrl: string;
  readonly secret: string;
  /** True once the process died (not by our hand). */
  readonly dead: () => boolean;
  /** The text of /metrics. */
  metrics(): Promise<string>;
  /** Messages waiting in the cluster's ingest queue (undefined when it cannot be read). */
  ingestBacklog(): Promise<number | undefined>;
  /** Stops the monitors and the gateway, deletes the vhost and the keys. */
  stop(): Promise<void>;
}

const CORK_WARNING = /^Warning: uWS\.HttpResponse writes must be made from within a corked callback/;

export async function startLiveTarget(secret: string, report: (violation: Violation) => void): Promise<LiveTarget> {
  const id = randomBytes(4).toString('hex');
  const exchange = `fuzz-${id}`;
  const [vhost, redis]: [TestVhost, TestRedis] = await Promise.all([createTestVhost(`orgcast-fuzz-${id}`), createTestRedis()]);
  let stopping = false;
  let died = false;
  const onLog = (entry: Record<string, unknown>): void => {
    if (stopping) return;
    const level = entry['level'];
    const err = entry['err'] as { stack?: unknown; type?: unknown; message?: unknown } | undefined;
    const severe = level === 'error' || level === 'fatal' || (typeof level === 'number' && level >= 50);
    const stack = typeof err?.stack === 'string';
    if (!severe && !stack) return;
    const msg = typeof entry['msg'] === 'string' ? entry['msg'] : '';
    report({
      key: `log:${stack ? 'stack-trace' : 'severe'}|${String(level)}|${msg}|${typeof err?.type === 'string' ? err.type : ''}`,
      detail: JSON.stringify(entry).slice(0, 3_000),
    });
  };
  const onStderr = (text: string): void => {
    if (stopping) return;
    const lines = text.split('\n').filter((line) => line.trim() !== '' && !CORK_WARNING.test(line));
    if (lines.length > 0) report({ key: `stderr|${lines[0]!.slice(0, 120)}`, detail: lines.join('\n').slice(0, 3_000) });
  };
  let gateway: GatewayProcess;
  try {
    gateway = await spawnGateway({
      JWT_SECRET: secret,
      AMQP_URL: vhost.url,
      AMQP_EXCHANGE: exchange,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      POD_NAME: `fuzz-${id}`,
      LOG_LEVEL: 'info',
      CONNECT_RATE_PER_SECOND: '100000',
      CONNECT_RATE_BURST: '100000',
      CLIENT_MESSAGES_PER_SECOND: String(FUZZ_LIMITS.clientMessagesPerSecond),
      CLIENT_MESSAGES_BURST: String(FUZZ_LIMITS.clientMessagesBurst),
      CLIENT_RATE_LIMIT_STRIKES: String(FUZZ_LIMITS.rateLimitStrikes),
      MALFORMED_FRAME_LIMIT: String(FUZZ_LIMITS.malformedFrameLimit),
      MAX_PAYLOAD_BYTES: String(FUZZ_LIMITS.maxPayloadBytes),
      JWT_MAX_TOKEN_BYTES: String(FUZZ_LIMITS.maxTokenBytes),
      POLL_DEFAULT_TIMEOUT_MS: '300',
      POLL_MAX_TIMEOUT_MS: String(FUZZ_LIMITS.pollMaxTimeoutMs),
      FEED_LINGER_MS: '2000',
      TRUSTED_PROXIES: '127.0.0.1',
      DEV_PUBLISH_ENABLED: 'true',
      READINESS_CANARY_INTERVAL_MS: '1000',
      DRAIN_WINDOW_MS: '200',
      SHUTDOWN_TIMEOUT_MS: '5000',
    }, { timeoutMs: 30_000, keepLogs: 200, onLog, onStderr });
  } catch (error) {
    await Promise.all([vhost.cleanup(), redis.cleanup()]).catch(() => undefined);
    throw error;
  }
  // A test runner that gives up on this process (a timeout) must not leave the gateway behind.
  const orphanGuard = (): void => {
    gateway.child.kill('SIGKILL');
  };
  process.once('exit', orphanGuard);
  void gateway.exited.then((code) => {
    process.off('exit', orphanGuard);
    if (stopping) return;
    died = true;
    report({ key: 'process:exited', detail: `the gateway exited (${code}); last stderr: ${gateway.stderr().slice(-2_000)}` });
  });
  const managementUrl = `http://127.0.0.1:${gateway.managementPort}`;
  const health = setInterval(() => {
    if (stopping || died) return;
    fetch(`${managementUrl}/healthz`, { signal: AbortSignal.timeout(5_000) }).then(
      (res) => {
        if (res.status !== 200 && !stopping) report({ key: `healthz:status|${res.status}`, detail: `/healthz answered ${res.status}` });
        return res.arrayBuffer();
      },
      (error: unknown) => {
        if (!stopping && !died) report({ key: 'healthz:no-answer', detail: `/healthz: ${String(error)}` });
      },
    ).catch(() => undefined);
  }, 1_000);

  return {
    gateway,
    id,
    exchange,
    amqpUrl: vhost.url,
    wsUrl: `ws://127.0.0.1:${gateway.port}/api/ws`,
    secret,
    dead: () => died,
    metrics: async () => (await fetch(`${managementUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text(),
    ingestBacklog: async () => {
      const model = await connect(vhost.url);
      model.on('error', () => undefined);
      try {
        const channel = await model.createChannel();
        channel.on('error', () => undefined);
        const { messageCount } = await channel.checkQueue(`${exchange}.ingest`);
        return messageCount;
      } catch {
        return undefined;
      } finally {
        await model.close().catch(() => undefined);
      }
    },
    stop: async () => {
      stopping = true;
      clearInterval(health);
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) {
        gateway.kill('SIGTERM');
        const exited = await Promise.race([gateway.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 8_000))]);
        if (!exited) {
          gateway.kill('SIGKILL');
          await gateway.exited;
        }
      }
      await Promise.all([vhost.cleanup(), redis.cleanup()]);
    },
  };
}
