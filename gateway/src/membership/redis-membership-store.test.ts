import { describe, expect, it } from 'vitest';
import { createTestRedis } from '../../test/helpers/redis.js';
import { runMembershipStoreCases } from './membership-store.case.js';
import { createRedisMembershipStore } from './redis-membership-store.js';

runMembershipStoreCases('redis', async (options) => {
  const { redis, prefix, cleanup } = await createTestRedis();
  return { store: createRedisMembershipStore({ redis, keyPrefix: prefix, ...options }), cleanup };
});

describe('createRedisMembershipStore', () => {
  it('keeps one hash per user, expiring within the TTL, refreshed on every write', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const store = createRedisMembershipStore({ redis, keyPrefix: prefix, ttlSeconds: 120 });
      const at = Date.now();
      await store.recordRemoved('org:1', 'user:1', at);
      await store.recordAdded('org-2', 'user:1', at + 1);
      const key = `${prefix}membership:user:1`;
      expect(await redis.hgetall(key)).toEqual({ 'org:1': `-${at}`, 'org-2': `+${at + 1}` });
      await redis.expire(key, 5);
      await store.recordAdded('org-3', 'user:1', at + 2);
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(120);
    } finally {
      await cleanup();
    }
  });

  it('prunes expired records from a large hash on write', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      let now = 1_900_000_000_000;
      const store = createRedisMembershipStore({ redis, keyPrefix: prefix, ttlSeconds: 60, now: () => now });
      for (let i = 0; i < 40; i += 1) await store.recordRemoved(`old-${i}`, 'u', now);
      now += 61_000;
      await store.recordRemoved('fresh', 'u', now);
      expect(await redis.hkeys(`${prefix}membership:u`)).toEqual(['fresh']);
    } finally {
      await cleanup();
    }
  });

  it('ignores field values it did not write', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const store = createRedisMembershipStore({ redis, keyPrefix: prefix, ttlSeconds: 60 });
      await redis.hset(`${prefix}membership:u`, 'a', 'garbage', 'b', '-', 'c', `-${Date.now()}`);
      expect(await store.effectiveOrganizations('u', ['a', 'b', 'c'], undefined)).toEqual(['a', 'b']);
    } finally {
      await cleanup();
    }
  });

  it('leaves the shared Redis client open on close', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const store = createRedisMembershipStore({ redis, keyPrefix: prefix, ttlSeconds: 60 });
      await store.close();
      expect(await redis.ping()).toBe('PONG');
    } finally {
      await cleanup();
    }
  });

  it('rejects a TTL that is not a positive integer before touching Redis', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      expect(() => createRedisMembershipStore({ redis, keyPrefix: prefix, ttlSeconds: 0 })).toThrow(RangeError);
    } finally {
      await cleanup();
    }
  });
});
