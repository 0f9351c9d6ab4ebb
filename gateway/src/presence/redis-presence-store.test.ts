import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createTestRedis, TEST_REDIS_URL } from '../../test/helpers/redis.js';
import { runPresenceStoreCases } from './presence-store.case.js';
import { createRedisPresenceStore } from './redis-presence-store.js';

runPresenceStoreCases('redis', async (options) => {
  const { redis, prefix, cleanup } = await createTestRedis();
  const other = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  return {
    stores: [createRedisPresenceStore({ redis, keyPrefix: prefix, ...options }), createRedisPresenceStore({ redis: other, keyPrefix: prefix, ...options })],
    cleanup: async () => {
      await other.quit();
      await cleanup();
    },
  };
});

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}

describe('createRedisPresenceStore', () => {
  it('keeps its keys under one hash tag and leaves none behind after release and removePod', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const store = createRedisPresenceStore({ redis, keyPrefix: prefix, podTtlMs: 10_000 });
      await store.heartbeat('pod-1', 1);
      await store.heartbeat('pod-2', 1);
      await store.tryReserve('pod-1', 'alice', 5);
      await store.tryReserve('pod-2', 'alice', 5);
      await store.tryReserve('pod-2', 'bob', 5);
      expect(await keysUnder(redis, prefix)).toEqual(
        ['connections', 'pod:pod-1', 'pod:pod-2', 'pods', 'user:alice', 'user:bob'].map((k) => `${prefix}{presence}:${k}`),
      );
      expect(await redis.hgetall(`${prefix}{presence}:user:alice`)).toEqual({ 'pod-1': '1', 'pod-2': '1' });
      await store.release('pod-1', 'alice');
      await store.release('pod-1', 'alice');
      expect(await keysUnder(redis, prefix)).toEqual(['connections', 'pod:pod-2', 'pods', 'user:alice', 'user:bob'].map((k) => `${prefix}{presence}:${k}`));
      await store.removePod('pod-2');
      await store.removePod('pod-1');
      expect(await keysUnder(redis, prefix)).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('leaves the shared Redis client open on close', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const store = createRedisPresenceStore({ redis, keyPrefix: prefix, podTtlMs: 1_000 });
      await store.close();
      expect(await redis.ping()).toBe('PONG');
    } finally {
      await cleanup();
    }
  });

  it('rejects a TTL that is not a positive integer before touching Redis', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      expect(() => createRedisPresenceStore({ redis, keyPrefix: prefix, podTtlMs: 0 })).toThrow(RangeError);
    } finally {
      await cleanup();
    }
  });
});
