import { compareEventIds, eventIdTimeMs, MIN_EVENT_ID } from './event-id.js';
import { reachesBack } from './history-completeness.js';
import { ageCutoffMs, assertAppendOptions, assertDedupeKey, assertHistoryLimits, assertOrganizationId, assertReadArguments, assertRecord, droppedBeforeCutoffId, type HistoryLimits } from './history-options.js';
import type { AppendResult, HistoryEntry, HistoryStore } from './history-store.js';
import { HistoryOrderError, StaleRunError } from './history-order-error.js';

export interface MemoryHistoryStoreOptions extends HistoryLimits {
  /** Wall-clock milliseconds: the time part of new ids, age trimming and expiry. */
  readonly now?: () => number;
}

interface OrganizationHistory {
  /** Kept entries are `entries[head..]`, oldest first (dropping from the front is O(1)). */
  entries: HistoryEntry[];
  head: number;
  lastMs: number;
  lastSeq: number;
  maxDroppedId: string;
  appendedAtMs: number;
  /** The token of the last append ('' for none). */
  lastToken: string;
  /** The newest sequencer run that appended (0 for none). */
  lastRun: number;
}

interface Appended {
  readonly id: string;
  readonly prev: string;
  /** The token of the append ('' for none). */
  readonly token: string;
}

/** What a dedupe key remembers: its newest entry, and every copy by token (a retry of one is recognised). */
interface Remembered {
  newest: Appended;
  /** The newest copy's append time plus the TTL. */
  expiresAtMs: number;
  /** Every entry appended under the key, by token, once there is more than one. */
  copies?: Map<string, Appended>;
}

/**
 * HistoryStore for a single pod (embedded mode and tests), with the Redis store's semantics: ids are
 * generated like Redis stream ids (`<ms>-<seq>`, the sequence counting up within a millisecond, never
 * going backwards even if the clock does), `maxLength` is exact, an organization without appends for
 * `2 * maxAgeMs` is forgotten (like the Redis key's expiry) and dedupe keys expire after
 * `dedupeTtlSeconds`. Both maps are kept in write order and swept from the front on each call, so
 * memory follows recent activity with no timer.
 */
export function createMemoryHistoryStore(options: MemoryHistoryStoreOptions): HistoryStore {
  assertHistoryLimits(options);
  const { maxLength, maxAgeMs } = options;
  const dedupeTtlMs = options.dedupeTtlSeconds * 1000;
  const forgetAfterMs = 2 * maxAgeMs;
  const now = options.now ?? Date.now;
  const organizations = new Map<string, OrganizationHistory>();
  const dedupe = new Map<string, Remembered>();
  let runs = 0;

  const sweep = (t: number): void => {
    for (const [organizationId, history] of organizations) {
      if (history.appendedAtMs + forgetAfterMs > t) break;
      organizations.delete(organizationId);
    }
    for (const [key, remembered] of dedupe) {
      if (remembered.expiresAtMs > t) break;
      dedupe.delete(key);
    }
  };

  const current = (organizationId: string): OrganizationHistory | undefined => {
    const t = now();
    sweep(t);
    return organizations.get(organizationId);
  };

  const dropOldest = (history: OrganizationHistory, count: number, droppedId?: string): void => {
    if (count <= 0) return;
    history.head += count;
    history.maxDroppedId = droppedId ?? history.entries[history.head - 1]?.id ?? history.maxDroppedId;
    if (history.head > 1024 && history.head * 2 > history.entries.length) {
      history.entries = history.entries.slice(history.head);
      history.head = 0;
    }
  };

  /** Drops the entries older than the age cut, recording the marker below the cut, or the last id when older (as the Redis store does). */
  const trimAge = (history: OrganizationHistory, t: number): void => {
    const cutoffMs = ageCutoffMs(t, maxAgeMs);
    if (cutoffMs <= 0) return;
    let end = history.head;
    while (end < history.entries.length && eventIdTimeMs((history.entries[end] as HistoryEntry).id) < cutoffMs) end += 1;
    dropOldest(history, end - history.head, history.lastMs < cutoffMs ? `${history.lastMs}-${history.lastSeq}` : droppedBeforeCutoffId(cutoffMs));
  };

  return {
    async append(organizationId, dedupeKey, record, appendOptions = {}) {
      assertOrganizationId(organizationId);
      assertDedupeKey(dedupeKey);
      assertAppendOptions(appendOptions);
      assertRecord(record);
      const t = now();
      sweep(t);
      const rememberedKey = rememberedKeyOf(organizationId, dedupeKey);
      const remembered = dedupe.get(rememberedKey);
      const token = appendOptions.token ?? '';
      const known = remembered !== undefined && remembered.expiresAtMs > t ? remembered : undefined;
      const duplicate = (entry: Appended): AppendResult => {
        const history = organizations.get(organizationId);
        const index = history === undefined ? -1 : firstAfter(history.entries, history.head, entry.id) - 1;
        const stored = history !== undefined && index >= history.head ? history.entries[index] : undefined;
        if (stored === undefined || stored.id !== entry.id) return { id: entry.id, prev: entry.prev, duplicate: true };
        return { id: entry.id, prev: entry.prev, duplicate: true, stored: { eventType: stored.eventType, dataJson: stored.dataJson, timestampMs: stored.timestampMs } };
      };
      if (known !== undefined && ((appendOptions.dedupe ?? 'check') === 'check' || (token !== '' && known.newest.token === token))) return duplicate(known.newest);
      const copy = token === '' ? undefined : known?.copies?.get(token);
      if (copy !== undefined) return duplicate(copy);
      const existing = organizations.get(organizationId);
      if (appendOptions.run !== undefined && existing !== undefined && existing.lastRun > appendOptions.run) throw new StaleRunError(organizationId, appendOptions.run);
      if (appendOptions.afterToken !== undefined && existing?.lastToken !== appendOptions.afterToken) throw new HistoryOrderError(organizationId, appendOptions.afterToken);

      const history = existing ?? { entries: [], head: 0, lastMs: 0, lastSeq: 0, maxDroppedId: MIN_EVENT_ID, appendedAtMs: t, lastToken: '', lastRun: 0 };
      const prev = existing === undefined ? MIN_EVENT_ID : `${history.lastMs}-${history.lastSeq}`;
      const ms = Math.max(0, Math.floor(t));
      if (ms > history.lastMs) {
        history.lastMs = ms;
        history.lastSeq = 0;
      } else {
        history.lastSeq += 1;
      }
      const id = `${history.lastMs}-${history.lastSeq}`;
      history.entries.push({ id, prev, eventType: record.eventType, dataJson: record.dataJson, timestampMs: Math.trunc(record.timestampMs) });
      dropOldest(history, history.entries.length - history.head - maxLength);
      trimAge(history, t);
      history.appendedAtMs = t;
      history.lastToken = token;
      history.lastRun = Math.max(history.lastRun, appendOptions.run ?? 0);
      organizations.delete(organizationId); // re-inserted last: the Map stays in append order
      organizations.set(organizationId, history);
      // A byte-identical copy becomes the newest; every copy stays findable by its token. Re-inserted
      // last: the map stays in expiry order.
      const appended: Appended = { id, prev, token };
      const kept: Remembered = known ?? { newest: appended, expiresAtMs: 0 };
      if (known !== undefined) {
        const copies = (kept.copies ??= new Map());
        if (known.newest.token !== '' && !copies.has(known.newest.token)) copies.set(known.newest.token, known.newest);
        if (token !== '') copies.set(token, appended);
        kept.newest = appended;
      }
      kept.expiresAtMs = t + dedupeTtlMs;
      dedupe.delete(rememberedKey);
      dedupe.set(rememberedKey, kept);
      return { id, prev, duplicate: false };
    },

    async readAfter(organizationId, afterId, limit) {
      assertOrganizationId(organizationId);
      assertReadArguments(afterId, limit);
      const history = current(organizationId);
      if (history === undefined) return { entries: [], complete: reachesBack(afterId, { stored: false, maxDroppedId: MIN_EVENT_ID, firstId: undefined }), more: false };
      trimAge(history, now());
      const { entries, head } = history;
      const start = firstAfter(entries, head, afterId);
      return {
        entries: entries.slice(start, start + limit),
        complete: reachesBack(afterId, { stored: true, maxDroppedId: history.maxDroppedId, firstId: entries[head]?.id }),
        more: entries.length - start > limit,
      };
    },

    async lastId(organizationId) {
      assertOrganizationId(organizationId);
      const history = current(organizationId);
      return history === undefined ? MIN_EVENT_ID : `${history.lastMs}-${history.lastSeq}`;
    },

    async nextRun() {
      runs += 1;
      return runs;
    },

    async close() {
      organizations.clear();
      dedupe.clear();
    },
  };
}

/** The dedupe map's key: organization and dedupe key, unambiguous whatever characters they hold. */
function rememberedKeyOf(organizationId: string, dedupeKey: string): string {
  return `${organizationId.length}:${organizationId}:${dedupeKey}`;
}

/** Index of the first entry in `entries[head..]` with an id greater than `afterId` (binary search). */
function firstAfter(entries: readonly HistoryEntry[], head: number, afterId: string): number {
  let low = head;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareEventIds((entries[middle] as HistoryEntry).id, afterId) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
