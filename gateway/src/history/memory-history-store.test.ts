import { describe, expect, it } from 'vitest';
import { compareEventIds } from './event-id.js';
import { runHistoryStoreCases } from './history-store.case.js';
import { createMemoryHistoryStore } from './memory-history-store.js';

runHistoryStoreCases('memory', async (options) => ({
  store: createMemoryHistoryStore(options),
  forget: async () => options.setNow(options.now() + 2 * options.maxAgeMs),
  cleanup: async () => {},
}));

const record = { eventType: 'task.event.created', dataJson: '{}', timestampMs: 0 };
const limits = { maxLength: 100, maxAgeMs: 60_000, dedupeTtlSeconds: 30 };

describe('createMemoryHistoryStore', () => {
  it('generates ids like Redis streams: <ms>-<seq>, counting up within a millisecond', async () => {
    let now = 1_000;
    const store = createMemoryHistoryStore({ ...limits, now: () => now });
    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push((await store.append('acme', `k${i}`, record)).id);
    now = 1_002.7;
    ids.push((await store.append('acme', 'k3', record)).id);
    expect(ids).toEqual(['1000-0', '1000-1', '1000-2', '1002-0']);
    expect((await store.append('globex', 'k0', record)).id).toBe('1002-0');
  });

  it('never goes backwards when the clock does', async () => {
    let now = 5_000;
    const store = createMemoryHistoryStore({ ...limits, now: () => now });
    const a = (await store.append('acme', 'a', record)).id;
    now = 4_000;
    const b = (await store.append('acme', 'b', record)).id;
    now = 5_001;
    const c = (await store.append('acme', 'c', record)).id;
    expect([a, b, c]).toEqual(['5000-0', '5000-1', '5001-0']);
    expect(compareEventIds(a, b)).toBeLessThan(0);
  });

  it('forgets a dedupe key after its TTL', async () => {
    let now = 1_000_000;
    const store = createMemoryHistoryStore({ ...limits, now: () => now });
    const first = await store.append('acme', 'k', record);
    now += 29_999;
    expect(await store.append('acme', 'k', record)).toMatchObject({ id: first.id, prev: '0-0', duplicate: true });
    now += 1;
    expect((await store.append('acme', 'k', record)).duplicate).toBe(false);
  });

  it('keeps a dedupe key for the TTL after its last identical copy, and its copies with it', async () => {
    let now = 1_000_000;
    const store = createMemoryHistoryStore({ ...limits, now: () => now });
    const first = await store.append('acme', 'k', record, { dedupe: 'record', token: 'run.1' });
    now += 20_000;
    const copy = await store.append('acme', 'k', record, { dedupe: 'record', token: 'run.2' });
    now += 20_000; // 40 s after the first (TTL 30 s), 20 s after the copy
    expect(await store.append('acme', 'k', record, { dedupe: 'record', token: 'run.1' })).toMatchObject({ ...first, duplicate: true });
    expect(await store.append('acme', 'k', record)).toMatchObject({ ...copy, duplicate: true });
    now += 10_000;
    expect((await store.append('acme', 'k', record, { dedupe: 'record', token: 'run.2' })).duplicate).toBe(false);
  });

  it('forgets an organization 2 * maxAgeMs after its last append', async () => {
    let now = 1_000_000;
    const store = createMemoryHistoryStore({ ...limits, now: () => now });
    await store.append('acme', 'a', record);
    now += 100_000;
    await store.append('acme', 'b', record);
    now += 119_999;
    expect(await store.lastId('acme')).toBe('1100000-0');
    now += 1;
    expect(await store.lastId('acme')).toBe('0-0');
  });

  it('rejects bad limits', () => {
    expect(() => createMemoryHistoryStore({ ...limits, maxLength: 0 })).toThrow(RangeError);
    expect(() => createMemoryHistoryStore({ ...limits, maxAgeMs: 1.5 })).toThrow(RangeError);
    expect(() => createMemoryHistoryStore({ ...limits, dedupeTtlSeconds: -1 })).toThrow(RangeError);
  });
});
