import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareEventIds, eventIdTimeMs, isEventId } from './event-id.js';
import type { HistoryLimits } from './history-options.js';
import { HistoryOrderError, StaleRunError } from './history-order-error.js';
import type { HistoryRecord, HistoryStore } from './history-store.js';

export interface HistoryStoreFactoryOptions extends HistoryLimits {
  /** The clock the store must use for age trimming (and, in memory, for ids and expiry). */
  readonly now: () => number;
  /** Moves that clock. */
  readonly setNow: (ms: number) => void;
}

export interface HistoryStoreHarness {
  readonly store: HistoryStore;
  /** Makes the store forget the organization the way an idle organization is forgotten. */
  forget(organizationId: string): Promise<void>;
  cleanup(): Promise<void>;
}

export type HistoryStoreFactory = (options: HistoryStoreFactoryOptions) => Promise<HistoryStoreHarness>;

const MAX_LENGTH = 5;
const MAX_AGE_MS = 60_000;

const record = (n: number): HistoryRecord => ({ eventType: 'task.event.created', dataJson: JSON.stringify({ n }), timestampMs: 1_700_000_000_000 + n });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The contract of HistoryStore, run against every implementation. */
export function runHistoryStoreCases(name: string, factory: HistoryStoreFactory): void {
  describe(`HistoryStore contract: ${name}`, () => {
    let harness: HistoryStoreHarness;
    let store: HistoryStore;
    let clock: number;
    let keys = 0;

    beforeEach(async () => {
      clock = Date.now();
      harness = await factory({ maxLength: MAX_LENGTH, maxAgeMs: MAX_AGE_MS, dedupeTtlSeconds: 60, now: () => clock, setNow: (ms) => (clock = ms) });
      store = harness.store;
    });
    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    const append = async (organizationId: string, n: number): Promise<string> => {
      keys += 1;
      const result = await store.append(organizationId, `key-${keys}`, record(n));
      expect(result.duplicate).toBe(false);
      return result.id;
    };
    /** Appends after the previous id's millisecond has passed (in the injected clock and in real time). */
    const appendLater = async (organizationId: string, n: number): Promise<string> => {
      clock += 5;
      await sleep(5);
      return append(organizationId, n);
    };
    const ns = (entries: readonly { dataJson: string }[]) => entries.map((e) => (JSON.parse(e.dataJson) as { n: number }).n);

    it('starts empty: last id 0-0, complete from 0-0', async () => {
      expect(await store.lastId('acme')).toBe('0-0');
      expect(await store.readAfter('acme', '0-0', 10)).toEqual({ entries: [], complete: true, more: false });
    });

    it('gives strictly increasing ids and reports the last one', async () => {
      const ids: string[] = [];
      for (let n = 0; n < 12; n += 1) ids.push(await append('acme', n));
      for (const id of ids) expect(isEventId(id)).toBe(true);
      for (let i = 1; i < ids.length; i += 1) expect(compareEventIds(ids[i - 1] as string, ids[i] as string)).toBeLessThan(0);
      expect(await store.lastId('acme')).toBe(ids.at(-1));
      expect(await store.lastId('globex')).toBe('0-0');
    });

    it('stores a record as given', async () => {
      const given: HistoryRecord = { eventType: 'task.event.updated', dataJson: '{"title":"Ünïcødé 🙂","nested":{"a":[1,2]}}', timestampMs: 1_732_672_800_123 };
      const { id, prev } = await store.append('acme', 'k', given);
      expect(prev).toBe('0-0');
      expect((await store.readAfter('acme', '0-0', 10)).entries).toEqual([{ id, prev: '0-0', ...given }]);
    });

    it('chains every entry to the one before it in its organization', async () => {
      const a = await store.append('acme', 'a', record(1));
      const other = await store.append('globex', 'x', record(9));
      const b = await store.append('acme', 'b', record(2));
      const c = await store.append('acme', 'c', record(3));
      expect([a.prev, b.prev, c.prev, other.prev]).toEqual(['0-0', a.id, b.id, '0-0']);
      expect((await store.readAfter('acme', '0-0', 10)).entries.map((e) => [e.id, e.prev])).toEqual([[a.id, '0-0'], [b.id, a.id], [c.id, b.id]]);
      // A duplicate answers its first id and prev.
      expect(await store.append('acme', 'b', record(2))).toMatchObject({ id: b.id, prev: a.id, duplicate: true });
    });

    it('with dedupe "record", appends a known key again (a first delivery), once per token, and remembers the newest', async () => {
      const first = await store.append('acme', 'same-body', record(1), { token: 'a1' });
      const again = await store.append('acme', 'same-body', record(1), { dedupe: 'record', token: 'b1' });
      expect(again.duplicate).toBe(false);
      expect(again.prev).toBe(first.id);
      // A retry of the append that landed (same token) is its duplicate, not a third entry.
      expect(await store.append('acme', 'same-body', record(1), { dedupe: 'record', token: 'b1' })).toMatchObject({ id: again.id, prev: first.id, duplicate: true });
      expect(await store.append('acme', 'same-body', record(1), { dedupe: 'record', token: 'a1' })).toMatchObject({ ...first, duplicate: true });
      expect(await store.append('acme', 'same-body', record(1))).toMatchObject({ id: again.id, prev: first.id, duplicate: true });
      expect(ns((await store.readAfter('acme', '0-0', 10)).entries)).toEqual([1, 1]);
    });

    it('answers a duplicate with the record it stored, not the one given again; without one when the entry is gone', async () => {
      const first = await store.append('acme', 'msg-1', record(1), { token: 'run.1' });
      // A publisher's retry under the same key with another body, or a retry with a later clock.
      const again = await store.append('acme', 'msg-1', { ...record(2), timestampMs: record(1).timestampMs + 5_000 });
      expect(again).toEqual({ id: first.id, prev: first.prev, duplicate: true, stored: record(1) });
      expect(await store.append('acme', 'msg-1', record(1), { dedupe: 'record', token: 'run.1' })).toEqual({ id: first.id, prev: first.prev, duplicate: true, stored: record(1) });
      expect((await store.append('acme', 'fresh', record(3))).stored).toBeUndefined();
      // Trimmed by length (MAX_LENGTH entries later): the key still answers, without a record.
      for (let n = 0; n < MAX_LENGTH; n += 1) await store.append('acme', `filler-${n}`, record(10 + n));
      const gone = await store.append('acme', 'msg-1', record(1));
      expect(gone).toMatchObject({ id: first.id, prev: first.prev, duplicate: true });
      expect(gone.stored).toBeUndefined();
    });

    it('with dedupe "record", each of several identical copies is recognised by its own token when retried, whichever is retried', async () => {
      // Three byte-identical first deliveries whose results were all lost (a Redis stall past the
      // command timeout, the scripts ran anyway): each is retried in place with its own token.
      const copies = [];
      for (const token of ['run.1', 'run.2', 'run.3']) copies.push(await store.append('acme', 'same-body', record(1), { dedupe: 'record', token }));
      for (const [i, token] of ['run.1', 'run.2', 'run.3'].entries()) {
        expect(await store.append('acme', 'same-body', record(1), { dedupe: 'record', token })).toMatchObject({ ...copies[i], duplicate: true });
      }
      expect(ns((await store.readAfter('acme', '0-0', 10)).entries)).toEqual([1, 1, 1]);
      // A fourth copy is a new entry; a redelivery (check) is the newest copy.
      const fourth = await store.append('acme', 'same-body', record(1), { dedupe: 'record', token: 'run.4' });
      expect(fourth.duplicate).toBe(false);
      expect(await store.append('acme', 'same-body', record(1))).toMatchObject({ ...fourth, duplicate: true });
      for (const [i, token] of ['run.1', 'run.2', 'run.3'].entries()) {
        expect(await store.append('acme', 'same-body', record(1), { dedupe: 'record', token })).toMatchObject({ ...copies[i], duplicate: true });
      }
      expect(ns((await store.readAfter('acme', '0-0', 10)).entries)).toEqual([1, 1, 1, 1]);
    });


    it('appends once per dedupe key and returns the first id again', async () => {
      const first = await store.append('acme', 'msg-1', record(1));
      const again = await store.append('acme', 'msg-1', record(2));
      expect(first.duplicate).toBe(false);
      expect(again).toMatchObject({ id: first.id, prev: '0-0', duplicate: true });
      const other = await store.append('globex', 'msg-1', record(3));
      expect(other.duplicate).toBe(false);
      expect(ns((await store.readAfter('acme', '0-0', 10)).entries)).toEqual([1]);
      expect(ns((await store.readAfter('globex', '0-0', 10)).entries)).toEqual([3]);
    });

    it('appends after a token only while the organization\'s last append carried it', async () => {
      await expect(store.append('acme', 'msg-2', record(2), { token: 't2', afterToken: 't1' })).rejects.toBeInstanceOf(HistoryOrderError);
      expect(await store.lastId('acme')).toBe('0-0');
      // The token of another organization does not count.
      await store.append('globex', 'msg-1', record(9), { token: 't1' });
      await expect(store.append('acme', 'msg-2', record(2), { token: 't2', afterToken: 't1' })).rejects.toBeInstanceOf(HistoryOrderError);
      const first = await store.append('acme', 'msg-1', record(1), { token: 't1' });
      const second = await store.append('acme', 'msg-2', record(2), { token: 't2', afterToken: 't1' });
      expect(second).toEqual({ id: second.id, prev: first.id, duplicate: false });
      // Only the last append counts: t1 is no longer last.
      await expect(store.append('acme', 'msg-3', record(3), { afterToken: 't1' })).rejects.toBeInstanceOf(HistoryOrderError);
      // A known key answers as a duplicate whatever it is asked to follow.
      expect(await store.append('acme', 'msg-2', record(2), { afterToken: 'never' })).toMatchObject({ id: second.id, prev: first.id, duplicate: true });
      // An append without a token clears it.
      await store.append('acme', 'msg-4', record(4));
      await expect(store.append('acme', 'msg-5', record(5), { afterToken: 't2' })).rejects.toBeInstanceOf(HistoryOrderError);
      expect(ns((await store.readAfter('acme', '0-0', 10)).entries)).toEqual([1, 2, 4]);
      await expect(store.append('acme', 'msg-6', record(6), { afterToken: '' })).rejects.toThrow(RangeError);
      await expect(store.append('acme', 'msg-6', record(6), { token: 'has space' })).rejects.toThrow(RangeError);
    });

    it('refuses an append of an earlier sequencer run once a later run appended to the organization (a stale sequencer\'s late append)', async () => {
      const oldRun = await store.nextRun();
      const newRun = await store.nextRun();
      expect(newRun).toBeGreaterThan(oldRun);
      // The new run appends a redelivered message; the old run's first delivery of it lands afterwards.
      const first = await store.append('acme', 'msg-1', record(1), { token: 'new-1', run: newRun });
      await expect(store.append('acme', 'msg-1', record(1), { dedupe: 'record', token: 'old-1', run: oldRun })).rejects.toBeInstanceOf(StaleRunError);
      await expect(store.append('acme', 'msg-2', record(2), { dedupe: 'record', token: 'old-2', run: oldRun })).rejects.toBeInstanceOf(StaleRunError);
      // A retry of the old run's append that did land first is still recognised as a duplicate.
      expect(await store.append('acme', 'msg-1', record(1), { dedupe: 'check', run: oldRun })).toMatchObject({ id: first.id, duplicate: true });
      // Other organizations, appends without a run and later runs go on.
      await store.append('globex', 'msg-1', record(1), { token: 'old-g', run: oldRun });
      await store.append('acme', 'msg-3', record(3), { token: 'any' });
      await expect(store.append('acme', 'msg-3b', record(3), { dedupe: 'record', token: 'old-3', run: oldRun })).rejects.toBeInstanceOf(StaleRunError);
      const later = await store.nextRun();
      await store.append('acme', 'msg-4', record(4), { token: 'later-4', run: later, afterToken: 'any' });
      expect((await store.readAfter('acme', '0-0', 10)).entries.map((entry) => entry.dataJson)).toEqual([record(1).dataJson, record(3).dataJson, record(4).dataJson]);
      await expect(store.append('acme', 'msg-5', record(5), { run: 0 })).rejects.toThrow(RangeError);
    });

    it('reads after an id, exclusively, at most limit entries, and says whether more follow', async () => {
      const ids = [await append('acme', 1), await append('acme', 2), await append('acme', 3), await append('acme', 4)];
      const page1 = await store.readAfter('acme', '0-0', 2);
      expect(ns(page1.entries)).toEqual([1, 2]);
      expect(page1).toMatchObject({ complete: true, more: true });
      const page2 = await store.readAfter('acme', page1.entries[1]?.id ?? '', 2);
      expect(ns(page2.entries)).toEqual([3, 4]);
      expect(page2).toMatchObject({ complete: true, more: false });
      expect(await store.readAfter('acme', ids[3] as string, 2)).toEqual({ entries: [], complete: true, more: false });
      expect(await store.readAfter('acme', ids[0] as string, 0)).toEqual({ entries: [], complete: true, more: true });
      expect(ns((await store.readAfter('acme', '18446744073709551615-18446744073709551615', 5)).entries)).toEqual([]);
    });

    it('keeps the newest maxLength entries and is complete exactly from the last dropped id', async () => {
      const ids: string[] = [];
      for (let n = 1; n <= 8; n += 1) ids.push(await append('acme', n));
      const all = await store.readAfter('acme', '0-0', 100);
      expect(ns(all.entries)).toEqual([4, 5, 6, 7, 8]);
      expect(all.complete).toBe(false);
      expect((await store.readAfter('acme', ids[1] as string, 100)).complete).toBe(false);
      const fromLastDropped = await store.readAfter('acme', ids[2] as string, 100);
      expect(ns(fromLastDropped.entries)).toEqual([4, 5, 6, 7, 8]);
      expect(fromLastDropped.complete).toBe(true);
      expect((await store.readAfter('acme', ids[5] as string, 100)).complete).toBe(true);
      expect(await store.lastId('acme')).toBe(ids[7]);
    });

    it('drops entries older than maxAgeMs on the next read or append, keeping the last id', async () => {
      const a = await append('acme', 1);
      const b = await appendLater('acme', 2);
      const c = await append('acme', 3);
      expect(eventIdTimeMs(a)).toBeLessThan(eventIdTimeMs(b));

      // Only `a` is older than the cut: everything before the cut counts as dropped.
      clock = eventIdTimeMs(b) + MAX_AGE_MS;
      const afterA = await store.readAfter('acme', a, 10);
      expect(ns(afterA.entries)).toEqual([2, 3]);
      expect(afterA.complete).toBe(false);
      expect((await store.readAfter('acme', '0-0', 10)).complete).toBe(false);
      expect((await store.readAfter('acme', b, 10))).toMatchObject({ complete: true, more: false });

      // All of them are old now: a reader at the last id missed nothing, any other did.
      clock = eventIdTimeMs(c) + MAX_AGE_MS + 1;
      expect(await store.readAfter('acme', a, 10)).toEqual({ entries: [], complete: false, more: false });
      expect(await store.readAfter('acme', b, 10)).toEqual({ entries: [], complete: false, more: false });
      expect(await store.readAfter('acme', c, 10)).toEqual({ entries: [], complete: true, more: false });
      expect(await store.lastId('acme')).toBe(c);

      const d = await appendLater('acme', 4);
      expect(compareEventIds(d, c)).toBeGreaterThan(0);
      const fromC = await store.readAfter('acme', c, 10);
      expect(ns(fromC.entries)).toEqual([4]);
      expect(fromC.entries[0]?.prev).toBe(c);
    });

    it('keeps young entries, and an unknown organization stays empty', async () => {
      await append('acme', 1);
      expect(await store.readAfter('acme', '0-0', 10)).toMatchObject({ complete: true, more: false });
      expect(await store.lastId('nobody')).toBe('0-0');
      expect(await store.readAfter('nobody', '0-0', 10)).toEqual({ entries: [], complete: true, more: false });
    });

    it('reports a resume from a forgotten history as incomplete, before and after new appends', async () => {
      const a = await append('acme', 1);
      const b = await append('acme', 2);
      await harness.forget('acme');
      expect(await store.lastId('acme')).toBe('0-0');
      expect(await store.readAfter('acme', a, 10)).toEqual({ entries: [], complete: false, more: false });
      expect(await store.readAfter('acme', b, 10)).toEqual({ entries: [], complete: false, more: false });
      expect(await store.readAfter('acme', '0-0', 10)).toEqual({ entries: [], complete: true, more: false });

      const c = await appendLater('acme', 3);
      expect(compareEventIds(c, b)).toBeGreaterThan(0);
      const fromA = await store.readAfter('acme', a, 10);
      expect(ns(fromA.entries)).toEqual([3]);
      expect(fromA.complete).toBe(false);
      expect(await store.readAfter('acme', '0-0', 10)).toMatchObject({ complete: true });
      expect(await store.readAfter('acme', c, 10)).toEqual({ entries: [], complete: true, more: false });
    });

    it('keeps organizations with odd ids apart', async () => {
      const odd = ['org:with:colons', 'org {with} braces', '{', '}', 'a}:x', 'a', '%7D', '組織 🙂', '__proto__', 'constructor'];
      for (const [i, organizationId] of odd.entries()) await append(organizationId, i);
      for (const [i, organizationId] of odd.entries()) {
        expect(ns((await store.readAfter(organizationId, '0-0', 10)).entries), organizationId).toEqual([i]);
      }
      // Organization and dedupe key must not run into each other: ('a}:x', 'y') vs ('a', 'x}:y').
      expect((await store.append('a}:x', 'y', record(100))).duplicate).toBe(false);
      expect((await store.append('a', 'x}:y', record(101))).duplicate).toBe(false);
      expect((await store.append('a', 'x}:y', record(102))).duplicate).toBe(true);
    });

    it('rejects malformed arguments', async () => {
      await expect(store.readAfter('acme', 'latest', 10)).rejects.toThrow(RangeError);
      await expect(store.readAfter('acme', '0-0', -1)).rejects.toThrow(RangeError);
      await expect(store.readAfter('acme', '0-0', 1.5)).rejects.toThrow(RangeError);
      await expect(store.append('', 'k', record(1))).rejects.toThrow(RangeError);
      await expect(store.append('acme', '', record(1))).rejects.toThrow(RangeError);
      await expect(store.append('acme', 'k', { ...record(1), timestampMs: Number.NaN })).rejects.toThrow(RangeError);
      await expect(store.append('acme', 'k', { ...record(1), timestampMs: 8.64e15 + 1 })).rejects.toThrow(RangeError);
      expect(await store.lastId('acme')).toBe('0-0');
    });
  });
}
