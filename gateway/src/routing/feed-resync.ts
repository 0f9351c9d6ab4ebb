import type { HistoryStore } from '../history/history-store.js';
import { taskFrameJson } from '../protocol/task-frame.js';
import type { OrganizationFeeds } from './organization-feeds.js';

/**
 * Re-reads, for every organization bound on this pod, what the history holds after the newest id
 * delivered here, and delivers it (the feeds drop what they already had). Run after a broker
 * reconnection: routed frames in flight when the connection dropped are not lost for the sockets.
 * Returns how many frames were recovered.
 */
export async function resyncFeeds(feeds: OrganizationFeeds, history: HistoryStore, maxPerOrganization: number): Promise<number> {
  let recovered = 0;
  await Promise.all(feeds.boundOrganizations().map(async ({ organizationId, lastId }) => {
    if (lastId === '0-0') return;
    const read = await history.readAfter(organizationId, lastId, maxPerOrganization);
    for (const entry of read.entries) {
      const delivered = feeds.deliver({
        organizationId,
        id: entry.id,
        frame: taskFrameJson(entry.eventType, entry.id, organizationId, entry.dataJson, entry.timestampMs),
        publishedAtMs: entry.timestampMs,
      });
      if (delivered >= 0) recovered += 1;
    }
  }));
  return recovered;
}
