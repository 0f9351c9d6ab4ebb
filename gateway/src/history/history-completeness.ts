import { compareEventIds, MIN_EVENT_ID } from './event-id.js';

/** What a store knows about the reach of one organization's stored history. */
export interface HistoryReach {
  /** False when nothing is stored for the organization: never written, or forgotten after being idle. */
  readonly stored: boolean;
  /** The highest id ever dropped from the stored history (trimmed by length or age), `0-0` if none. */
  readonly maxDroppedId: string;
  /** The oldest stored id, undefined when every entry was dropped. */
  readonly firstId: string | undefined;
}

/**
 * Whether the history still holds every entry newer than `afterId` (`ReadResult.complete`).
 *
 * - An entry newer than `afterId` was trimmed: false.
 * - Nothing is stored: only `0-0` ("I saw nothing") is complete. Any other id was issued by a
 *   history that has since been forgotten, and whatever followed it is lost.
 * - Nothing was ever trimmed but `afterId` (not `0-0`) is older than the oldest entry: it comes from
 *   an earlier, forgotten history of the organization (ids are time based, so the current one started
 *   later): false.
 *
 * Never true when an entry newer than `afterId` is gone. The one guess: a `0-0` cursor is taken to be
 * younger than the stored history (it is the cursor of an empty history; a client would have to keep
 * such a cursor through a whole history that lived and was forgotten for it to be wrong).
 */
export function reachesBack(afterId: string, reach: HistoryReach): boolean {
  if (afterId === MIN_EVENT_ID) return !reach.stored || reach.maxDroppedId === MIN_EVENT_ID;
  if (!reach.stored) return false;
  if (reach.maxDroppedId !== MIN_EVENT_ID) return compareEventIds(afterId, reach.maxDroppedId) >= 0;
  return reach.firstId === undefined || compareEventIds(afterId, reach.firstId) >= 0;
}
