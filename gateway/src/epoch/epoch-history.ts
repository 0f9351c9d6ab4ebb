import { eventIdTimeMs, MIN_EVENT_ID } from '../history/event-id.js';
import type { HistoryStore } from '../history/history-store.js';
import type { StoreEpoch } from './store-epoch.js';

/**
 * A history that never claims to reach back across a loss of the store's data: a read after an id
 * older than the current epoch is not `complete` (what followed that id may be gone), so a resume
 * from it gets `recovered: false` and a feed repairing from it announces a resync.
 */
export function epochHistory(history: HistoryStore, epoch: StoreEpoch): HistoryStore {
  return {
    append: (organizationId, dedupeKey, record, options) => history.append(organizationId, dedupeKey, record, options),
    async readAfter(organizationId, afterId, limit) {
      const read = await history.readAfter(organizationId, afterId, limit);
      if (!read.complete || afterId === MIN_EVENT_ID || eventIdTimeMs(afterId) >= epoch.sinceMs()) return read;
      return { ...read, complete: false };
    },
    lastId: (organizationId) => history.lastId(organizationId),
    nextRun: () => history.nextRun(),
    close: () => history.close(),
  };
}
