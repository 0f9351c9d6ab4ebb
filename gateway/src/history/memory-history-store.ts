import { compareEventIds, eventIdTimeMs, MIN_EVENT_ID } from './event-id.js';
import { reachesBack } from './history-completeness.js';
import { assertDedupeKey, assertHistoryLimits, assertOrganizationId, assertReadArguments, assertRecord, type HistoryLimits } from './history-options.js';
import type { HistoryEntry, HistoryStore } from './history-store.js';
import { HistoryOrderError } from './history-order-error.js';

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
}

interface Remembered {
  readonly id: string;
  readonly expiresAtMs: number;
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

  const dropOldest = (history: OrganizationHistory, count: number): void => {
    if (count <= 0) return;
    history.head += count;
    history.maxDroppedId = history.entries[history.head - 1]?.id ?? history.maxDroppedId;
    if (history.head > 1024 && history.head * 2 > history.entries.length) {
      history.entries = history.entries.slice(history.head);
      history.head = 0;
    }
  };

  return {
    async append(organizationId, dedupeKey, record, after) {
      assertOrganizationId(organizationId);
      assertDedupeKey(dedupeKey);
      if (after !== undefined) assertDedupeKey(after);
      assertRecord(record);
      const t = now();
      sweep(t);
      const rememberedKey = rememberedKeyOf(organizationId, dedupeKey);
      const remembered = dedupe.get(rememberedKey);
      if (remembered !== undefined && remembered.expiresAtMs > t) return { id: remembered.id, duplicate: true };
      if (after !== undefined && !((dedupe.get(rememberedKeyOf(organizationId, after))?.expiresAtMs ?? 0) > t)) throw new HistoryOrderError(organizationId, after);

      const history = organizations.get(organizationId) ?? { entries: [], head: 0, lastMs: 0, lastSeq: 0, maxDroppedId: MIN_EVENT_ID, appendedAtMs: t };
      const ms = Math.max(0, Math.floor(t));
      if (ms > history.lastMs) {
        history.lastMs = ms;
        history.lastSeq = 0;
      } else {
        history.lastSeq += 1;
      }
      const id = `${history.lastMs}-${history.lastSeq}`;
      history.entries.push({ id, eventType: record.eventType, dataJson: record.dataJson, timestampMs: Math.trunc(record.timestampMs) });
      dropOldest(history, history.entries.length - history.head - maxLength);
      history.appendedAtMs = t;
      organizations.delete(organizationId); // re-inserted last: the Map stays in append order
      organizations.set(organizationId, history);
      dedupe.delete(rememberedKey);
      dedupe.set(rememberedKey, { id, expiresAtMs: t + dedupeTtlMs });
      return { id, duplicate: false };
    },

    async readAfter(organizationId, afterId, limit) {
      assertOrganizationId(organizationId);
      assertReadArguments(afterId, limit);
      const history = current(organizationId);
      if (history === undefined) return { entries: [], complete: reachesBack(afterId, { stored: false, maxDroppedId: MIN_EVENT_ID, firstId: undefined }), more: false };
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

    async trimByAge(organizationId) {
      assertOrganizationId(organizationId);
      const history = current(organizationId);
      const cutoffMs = now() - maxAgeMs;
      if (history === undefined || cutoffMs <= 0) return;
      let end = history.head;
      while (end < history.entries.length && eventIdTimeMs((history.entries[end] as HistoryEntry).id) < cutoffMs) end += 1;
      dropOldest(history, end - history.head);
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
