import { afterEach, describe, expect, it } from 'vitest';
import { createTestRedis, type TestRedis } from '../../test/helpers/redis.js';
import { createRedisStoreEpoch } from './redis-store-epoch.js';

describe('createRedisStoreEpoch', () => {
  let redis: TestRedis | undefined;
  afterEach(async () => {
    await redis?.cleanup();
    redis = undefined;
  });

  it('starts an epoch once for every pod, and tells each pod when the data is gone', async () => {
    redis = await createTestRedis();
    const a = createRedisStoreEpoch({ redis: redis.redis, keyPrefix: redis.prefix });
    const b = createRedisStoreEpoch({ redis: redis.redis, keyPrefix: redis.prefix });
    const before = Date.now();
    expect(await a.check()).toBe(false);
    expect(await b.check()).toBe(false);
    expect(a.sinceMs()).toBe(b.sinceMs());
    expect(a.sinceMs()).toBeGreaterThanOrEqual(before - 1_000);
    for (let i = 0; i < 3; i += 1) expect([await a.check(), await b.check()]).toEqual([false, false]);
    const first = a.sinceMs();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await redis.redis.del(`${redis.prefix}epoch`);
    expect(await a.check()).toBe(true);
    expect(await b.check()).toBe(true);
    expect(a.sinceMs()).toBe(b.sinceMs());
    expect(a.sinceMs()).toBeGreaterThan(first);
    expect(a.lostAtMs()).toBe(a.sinceMs());
    expect(b.lostAtMs()).toBe(a.sinceMs());
    // A pod that starts later learns of the loss too; a first start is no loss.
    const late = createRedisStoreEpoch({ redis: redis.redis, keyPrefix: redis.prefix });
    await late.check();
    expect(late.lostAtMs()).toBe(a.sinceMs());
  });

  it('a first start (no epoch yet) is no loss', async () => {
    redis = await createTestRedis();
    const pod = createRedisStoreEpoch({ redis: redis.redis, keyPrefix: redis.prefix });
    expect(await pod.check()).toBe(false);
    expect(pod.lostAtMs()).toBeUndefined();
  });

  it('sees a restore from an older snapshot (the clock went back)', async () => {
    redis = await createTestRedis();
    const pod = createRedisStoreEpoch({ redis: redis.redis, keyPrefix: redis.prefix });
    await pod.check();
    const snapshot = await redis.redis.hgetall(`${redis.prefix}epoch`);
    for (let i = 0; i < 5; i += 1) await pod.check();
    await redis.redis.hset(`${redis.prefix}epoch`, snapshot);
    expect(await pod.check()).toBe(true);
    expect(await pod.check()).toBe(false);
  });
});
