import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the tests use (keys are always under a random per-test prefix). */
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface TestRedis {
  readonly redis: Redis;
  /** A fresh prefix like `test:3f9a1c0e2b7d:`, unique to this call. */
  readonly prefix: string;
  /** Deletes every key under `prefix` (SCAN, never KEYS) and quits the client. Idempotent. */
  cleanup(): Promise<void>;
}

/** A connected client and a private key prefix for one test. */
export async function createTestRedis(): Promise<TestRedis> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  let done = false;
  return {
    redis,
    prefix,
    async cleanup() {
      if (done) return;
      done = true;
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    },
  };
}

/** Deletes every key starting with `prefix`; glob characters in the prefix are escaped. */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
