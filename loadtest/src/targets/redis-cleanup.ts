import { Redis } from 'ioredis';

/** Deletes every key under `prefix` (the run's private key prefix), SCAN-batched. */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<number> {
  if (!/^lt:[A-Za-z0-9]+:/.test(prefix)) throw new Error(`refusing to delete a prefix that is not a load-test run's: ${prefix}`);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
