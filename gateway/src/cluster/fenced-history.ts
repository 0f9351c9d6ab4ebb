import type { HistoryStore } from '../history/history-store.js';
import type { CommandFence } from './command-progress.js';

/**
 * A history whose reads this pod may deliver at once: a page with entries is handed on only once
 * this pod has applied every cluster command published before the read (the newest number then),
 * so an entry sequenced after a removal never reaches a connection that has not heard the removal
 * (catch-ups, feed repairs and resumes read history, not the routed path, and take the same fence).
 */
export function fencedHistory(history: HistoryStore, fence: CommandFence): HistoryStore {
  return {
    append: (organizationId, dedupeKey, record, options) => history.append(organizationId, dedupeKey, record, options),
    async readAfter(organizationId, afterId, limit) {
      const read = await history.readAfter(organizationId, afterId, limit);
      if (read.entries.length === 0) return read;
      // Read after the page: every command sequenced before its entries is at or below it.
      const latest = await fence.latest();
      if (latest !== undefined && !fence.hasHeard(latest)) await fence.waitFor(latest);
      return read;
    },
    lastId: (organizationId) => history.lastId(organizationId),
    nextRun: () => history.nextRun(),
    close: () => history.close(),
  };
}
