import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createTestRedis, TEST_REDIS_URL } from '../../test/helpers/redis.js';
import { compareEventIds } from './event-id.js';
import { historyCopyKey, historyDedupeKey, historyLastKey, historyStreamKey } from './history-keys.js';
import { runHistoryStoreCases } from './history-store.case.js';
import { createRedisHistoryStore } from './redis-history-store.js';

runHistoryStoreCases('redis', async (options) => {
  const { redis, prefix, cleanup } = await createTestRedis();
  return {
    store: createRedisHistoryStore({ redis, keyPrefix: prefix, ...options }),
    forget: async (organizationId) => void (await redis.del(historyStreamKey(prefix, organizationId), historyLastKey(prefix, organizationId))),
    cleanup,
  };
});

const record = { eventType: 'task.event.created', dataJson: '{"n":1}', timestampMs: 1_732_672_800_000 };
const limits = { maxLength: 100, maxAgeMs: 60_000, dedupeTtlSeconds: 30 };

/** XINFO STREAM as an object (RESP2 flat list). */
async function streamInfo(redis: Redis, key: string): Promise<Record<string, unknown>> {
  const flat = (await redis.xinfo('STREAM', key)) as unknown[];
  const info: Record<string, unknown> = {};
  for (let i = 0; i < flat.length; i += 2) info[String(flat[i])] = flat[i + 1];
  return info;
}

describe('createRedisHistoryStore', () => {
  it('writes one stream per organization (fields e, d, t, p), its last id and token, and a dedupe key, all with a TTL', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const store = createRedisHistoryStore({ redis, keyPrefix: prefix, ...limits });
      const { id } = await store.append('org:{1}', 'msg-1', record, { token: 'tok-1' });
      const stream = historyStreamKey(prefix, 'org:{1}');
      expect(stream).toBe(`${prefix}history:{org:%7B1%7D}`);
      expect(await redis.xrange(stream, '-', '+')).toEqual([[id, ['e', record.eventType, 'd', record.dataJson, 't', String(record.timestampMs), 'p', '0-0']]]);
      const last = historyLastKey(prefix, 'org:{1}');
      expect(await redis.get(last)).toBe(`${id} tok-1`);
      expect(await redis.pttl(last)).toBeGreaterThan(110_000);
      const streamTtl = await redis.pttl(stream);
      expect(streamTtl).toBeGreaterThan(110_000);
      expect(streamTtl).toBeLessThanOrEqual(120_000);
      const dedupe = historyDedupeKey(prefix, 'org:{1}', 'msg-1');
      expect(await redis.get(dedupe)).toBe(`${id} 0-0 tok-1`);
      expect(await redis.ttl(dedupe)).toBeGreaterThan(25);
      expect(await redis.ttl(dedupe)).toBeLessThanOrEqual(30);
    } finally {
      await cleanup();
    }
  });

  it('keeps the newest and the first entry under a dedupe key and a later identical copy under its token, with the TTL refreshed', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const store = createRedisHistoryStore({ redis, keyPrefix: prefix, ...limits });
      const first = await store.append('acme', 'same', record, { dedupe: 'record', token: 'run.1' });
      const dedupe = historyDedupeKey(prefix, 'acme', 'same');
      await redis.expire(dedupe, 5); // as if most of the TTL had passed
      const copy = await store.append('acme', 'same', record, { dedupe: 'record', token: 'run.2' });
      expect(await redis.get(dedupe)).toBe(`${copy.id} ${first.id} run.2|${first.id} 0-0 run.1`);
      expect(await redis.ttl(dedupe)).toBeGreaterThan(25);
      const copyKey = historyCopyKey(prefix, 'acme', 'same', 'run.2');
      expect(copyKey).toBe(`${prefix}dedupe-copy:{acme}:run.2#same`);
      expect(await redis.get(copyKey)).toBe(`${copy.id} ${first.id}`);
      expect(await redis.ttl(copyKey)).toBeGreaterThan(25);
      // A unique body leaves no copy key.
      await store.append('acme', 'other', record, { dedupe: 'record', token: 'run.3' });
      expect(await redis.exists(historyCopyKey(prefix, 'acme', 'other', 'run.3'))).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it('records the last trimmed id as the stream max-deleted-entry-id', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const store = createRedisHistoryStore({ redis, keyPrefix: prefix, ...limits, maxLength: 2 });
      const ids = [];
      for (let i = 0; i < 4; i += 1) ids.push((await store.append('acme', `k${i}`, record)).id);
      const info = await streamInfo(redis, historyStreamKey(prefix, 'acme'));
      expect(info).toMatchObject({ 'length': 2, 'max-deleted-entry-id': ids[1], 'last-generated-id': ids[3] });
    } finally {
      await cleanup();
    }
  });

  it('trims down to a lowered maxLength on the next append', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const wide = createRedisHistoryStore({ redis, keyPrefix: prefix, ...limits, maxLength: 50 });
      const ids = [];
      for (let i = 0; i < 30; i += 1) ids.push((await wide.append('acme', `k${i}`, record)).id);
      const narrow = createRedisHistoryStore({ redis, keyPrefix: prefix, ...limits, maxLength: 5 });
      ids.push((await narrow.append('acme', 'k30', record)).id);
      const read = await narrow.readAfter('acme', '0-0', 100);
      expect(read.entries.map((e) => e.id)).toEqual(ids.slice(-5));
      expect(read.complete).toBe(false);
      expect((await narrow.readAfter('acme', ids[25] as string, 100)).complete).toBe(true);
      expect((await narrow.readAfter('acme', ids[24] as string, 100)).complete).toBe(false);
    } finally {
      await cleanup();
    }
  });

  it('really expires an idle organization, and a resume from before reports incomplete', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const store = createRedisHistoryStore({ redis, keyPrefix: prefix, ...limits, maxAgeMs: 40 });
      const { id } = await store.append('acme', 'k', record);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await redis.exists(historyStreamKey(prefix, 'acme'))).toBe(0);
      expect(await store.readAfter('acme', id, 10)).toEqual({ entries: [], complete: false, more: false });
      expect(await store.lastId('acme')).toBe('0-0');
    } finally {
      await cleanup();
    }
  });

  it('appends each dedupe key once, with increasing ids, under concurrent appends from two connections', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    const other = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const stores = [redis, other].map((client) => createRedisHistoryStore({ redis: client, keyPrefix: prefix, ...limits }));
      const keys = Array.from({ length: 40 }, (_, i) => `msg-${i}`);
      const results = await Promise.all(keys.flatMap((key) => stores.map((store, s) => store.append('acme', key, { ...record, dataJson: JSON.stringify({ key, s }) }))));
      const byKey = new Map<string, { id: string; duplicate: boolean }[]>();
      results.forEach((result, i) => {
        const key = keys[Math.floor(i / 2)] as string;
        byKey.set(key, [...(byKey.get(key) ?? []), result]);
      });
      for (const [key, pair] of byKey) {
        expect(pair[0]?.id, key).toBe(pair[1]?.id);
        expect(pair.filter((r) => !r.duplicate), key).toHaveLength(1);
      }
      const stored = (await stores[0]?.readAfter('acme', '0-0', 1_000))?.entries ?? [];
      expect(stored).toHaveLength(40);
      expect(new Set(stored.map((e) => e.id))).toEqual(new Set(results.map((r) => r.id)));
      for (let i = 1; i < stored.length; i += 1) expect(compareEventIds(stored[i - 1]?.id ?? '', stored[i]?.id ?? '')).toBeLessThan(0);
    } finally {
      await other.quit();
      await cleanup();
    }
  });

  it('leaves the shared Redis client open on close', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const store = createRedisHistoryStore({ redis, keyPrefix: prefix, ...limits });
      await store.close();
      expect(await redis.ping()).toBe('PONG');
    } finally {
      await cleanup();
    }
  });

  it('rejects bad limits before touching Redis', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      expect(() => createRedisHistoryStore({ redis, keyPrefix: prefix, ...limits, maxLength: 0 })).toThrow(RangeError);
      expect(() => createRedisHistoryStore({ redis, keyPrefix: prefix, ...limits, dedupeTtlSeconds: 0.5 })).toThrow(RangeError);
    } finally {
      await cleanup();
    }
  });
});
