import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createLocalCommandBus, type CommandBus } from '../cluster/command-bus.js';
import { createRedisCommandBus } from '../cluster/redis-command-bus.js';
import type { Config } from '../config/config.js';
import type { HistoryStore } from '../history/history-store.js';
import { createMemoryHistoryStore } from '../history/memory-history-store.js';
import { createRedisHistoryStore } from '../history/redis-history-store.js';
import type { MembershipStore } from '../membership/membership-store.js';
import { createMemoryMembershipStore } from '../membership/memory-membership-store.js';
import { createRedisMembershipStore } from '../membership/redis-membership-store.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { createMemoryPresenceStore } from '../presence/memory-presence-store.js';
import type { PresenceStore } from '../presence/presence-store.js';
import { createRedisPresenceStore } from '../presence/redis-presence-store.js';
import { createRedis, quitRedis, writeWithTimeout } from '../redis/create-redis.js';
import { epochHistory } from '../epoch/epoch-history.js';
import { createRedisStoreEpoch } from '../epoch/redis-store-epoch.js';
import { PROCESS_EPOCH, type StoreEpoch } from '../epoch/store-epoch.js';

/** The shared state of a pod: one implementation of each, memory for a single node, Redis for a cluster. */
export interface Stores {
  readonly membership: MembershipStore;
  readonly history: HistoryStore;
  readonly presence: PresenceStore;
  readonly commands: CommandBus;
  /** Whether the store lost its data (see StoreEpoch). */
  readonly epoch: StoreEpoch;
  /** Whether the stores' backend takes writes (readiness); undefined when there is none to ask. */
  readonly probeWrite: ((timeoutMs: number) => Promise<boolean>) | undefined;
  close(): Promise<void>;
}

export interface StoreContext {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
}

export type StoresFactory = (config: Config, context: StoreContext) => Stores;

/** Redis when REDIS_URL is set, else memory: the only place that chooses. */
export const defaultStores: StoresFactory = (config, context) => (config.redis === undefined ? memoryStores(config) : redisStores(config, config.redis, context));

function historyLimits(config: Config): { maxLength: number; maxAgeMs: number; dedupeTtlSeconds: number } {
  return { maxLength: config.history.maxLength, maxAgeMs: config.history.maxAgeMs, dedupeTtlSeconds: config.history.dedupeTtlSeconds };
}

export function memoryStores(config: Config): Stores {
  const membership = createMemoryMembershipStore({ ttlSeconds: config.membership.revocationTtlSeconds });
  const history = createMemoryHistoryStore(historyLimits(config));
  const presence = createMemoryPresenceStore({ podTtlMs: config.cluster.presenceTtlMs });
  const commands = createLocalCommandBus();
  return {
    membership,
    history,
    presence,
    commands,
    epoch: PROCESS_EPOCH,
    probeWrite: undefined,
    close: async () => {
      await Promise.all([membership.close(), history.close(), presence.close()]);
    },
  };
}

function redisStores(config: Config, options: NonNullable<Config['redis']>, context: StoreContext): Stores {
  const redis: Redis = createRedis({ url: options.url, metrics: context.metrics, logger: context.logger, name: `orgcast:${config.podName}` });
  const keyPrefix = options.keyPrefix;
  const membership = createRedisMembershipStore({ redis, keyPrefix, ttlSeconds: config.membership.revocationTtlSeconds });
  const epoch = createRedisStoreEpoch({ redis, keyPrefix });
  const history = epochHistory(createRedisHistoryStore({ redis, keyPrefix, ...historyLimits(config) }), epoch);
  const presence = createRedisPresenceStore({ redis, keyPrefix, podTtlMs: config.cluster.presenceTtlMs });
  const commands = createRedisCommandBus({
    redis,
    keyPrefix,
    logger: context.logger,
    fenceTimedOut: (seq, heard) => {
      context.metrics.commandFenceTimeouts.inc();
      context.logger.warn({ seq, heard }, 'waited 5 s in vain for the cluster command reader: events after a membership change go out without it');
    },
  });
  return {
    membership,
    history,
    presence,
    commands,
    epoch,
    probeWrite: (timeoutMs) => writeWithTimeout(redis, `${keyPrefix}ready-probe:${config.podName}`, timeoutMs),
    close: async () => {
      await Promise.all([membership.close(), history.close(), presence.close()]);
      await quitRedis(redis, 1_000);
    },
  };
}
