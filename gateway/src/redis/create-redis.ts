import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { backoffDelay, type BackoffPolicy } from '../retry/backoff.js';

export class RedisOptionsError extends Error {
  override readonly name = 'RedisOptionsError';
}

export interface CreateRedisOptions {
  /** `redis://` or `rediss://` URL; never logged (it may carry a password). */
  readonly url: string;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Names the client in logs and in `CLIENT LIST` (letters, digits, `._:-`). */
  readonly name: string;
  /** Reconnect delays; default 100 ms doubling up to 5 s, with jitter. */
  readonly retry?: BackoffPolicy;
  /**
   * Reconnect attempts a queued command waits through before it fails (default 2): while Redis is
   * down, callers get an error within a few hundred milliseconds instead of waiting forever.
   */
  readonly maxRetriesPerRequest?: number;
  /**
   * Upper bound on any command, queued time included (default 2 000 ms): covers a long outage, where
   * reconnect attempts are seconds apart, and a server that accepts but does not answer. Not suited
   * to blocking commands (BLPOP and the like), which the gateway does not use.
   */
  readonly commandTimeoutMs?: number;
}

/** Clients being shut down on purpose: their close is not an outage. */
const closing = new WeakSet<Redis>();

/**
 * An ioredis client for the gateway: reconnects forever with capped, jittered backoff; commands
 * issued while disconnected are queued but fail after `maxRetriesPerRequest` reconnect attempts or
 * `commandTimeoutMs`, whichever comes first;
 * `redisConnected` / `redisReconnects` follow the connection; an outage is logged once at warn
 * (further errors of the same outage at debug) and its end at info.
 */
export function createRedis(options: CreateRedisOptions): Redis {
  const { metrics, name } = options;
  const retry = options.retry ?? { minMs: 100, maxMs: 5_000 };
  const maxRetriesPerRequest = options.maxRetriesPerRequest ?? 2;
  const commandTimeoutMs = options.commandTimeoutMs ?? 2_000;
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(name)) throw new RedisOptionsError(`redis client name ${JSON.stringify(name)}: letters, digits and ._:- only`);
  if (!isRedisUrl(options.url)) throw new RedisOptionsError(`redis client ${name}: url must be a redis:// or rediss:// URL`);
  if (!(retry.minMs > 0 && retry.maxMs >= retry.minMs)) throw new RedisOptionsError(`redis client ${name}: retry needs 0 < minMs <= maxMs`);
  if (!(Number.isInteger(maxRetriesPerRequest) && maxRetriesPerRequest >= 0)) throw new RedisOptionsError(`redis client ${name}: maxRetriesPerRequest must be an integer >= 0`);
  if (!(Number.isInteger(commandTimeoutMs) && commandTimeoutMs > 0)) throw new RedisOptionsError(`redis client ${name}: commandTimeoutMs must be a positive integer`);

  const logger = options.logger.child({ redis: name });
  const redis = new Redis(options.url, {
    connectionName: name,
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (attempt) => backoffDelay(attempt, retry),
  });

  let outage: { readonly since: number; attempts: number } | undefined;
  let lastError: Error | undefined;
  const beginOutage = (message: string, error: Error | undefined): void => {
    outage = { since: Date.now(), attempts: 0 };
    logger.warn({ err: error }, message);
  };

  redis.on('ready', () => {
    metrics.redisConnected.set(1);
    lastError = undefined;
    if (outage === undefined) {
      logger.info('redis connected');
    } else {
      logger.info({ downMs: Date.now() - outage.since, attempts: outage.attempts }, 'redis connection restored');
      outage = undefined;
    }
  });
  redis.on('error', (error: Error) => {
    if (closing.has(redis) || outage !== undefined) {
      logger.debug({ err: error }, 'redis error');
    } else if (redis.status === 'ready') {
      // A live connection's error is followed by 'close', which reports the outage with it.
      lastError = error;
      logger.debug({ err: error }, 'redis error');
    } else {
      beginOutage('redis unavailable; retrying in the background', error);
    }
  });
  redis.on('close', () => {
    metrics.redisConnected.set(0);
    if (!closing.has(redis) && outage === undefined) beginOutage('redis connection lost; reconnecting', lastError);
  });
  redis.on('reconnecting', () => {
    metrics.redisReconnects.inc();
    if (outage !== undefined) outage.attempts += 1;
  });
  redis.on('end', () => {
    metrics.redisConnected.set(0);
    if (!closing.has(redis)) logger.error('redis connection ended; no further reconnection');
  });
  return redis;
}

/**
 * Readiness probe: true only if the client is connected and a small write (`key`, expiring) is
 * accepted within `timeoutMs`. A write, not a PING: a Redis out of memory (or read-only after a
 * failover) still answers PING while every append fails.
 */
export async function writeWithTimeout(redis: Redis, key: string, timeoutMs: number): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  const written = redis.set(key, '1', 'PX', 10_000).then((reply) => reply === 'OK', () => false);
  return withTimeout(written, timeoutMs, false);
}

/**
 * Closes a client: QUIT (pending replies are received first), or an immediate disconnect when QUIT
 * cannot finish within `timeoutMs` or the client is not connected. Never rejects.
 */
export async function quitRedis(redis: Redis, timeoutMs: number): Promise<void> {
  closing.add(redis);
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  const quit = redis.quit().then(() => true, () => false);
  if (!(await withTimeout(quit, timeoutMs, false))) redis.disconnect();
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isRedisUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'redis:' || protocol === 'rediss:';
  } catch {
    return false;
  }
}
