import type { HistoryStore } from '../history/history-store.js';
import type { RoutedFrame } from '../consumer/cluster-source.js';
import type { ResumeCursor } from '../protocol/resume.js';
import { taskFrameJson } from '../protocol/task-frame.js';

/** Where the live feeds of this pod stand, as far as a catch-up needs to know. */
export interface FeedView {
  framesAfter(organizationId: string, afterId: string): { frames: RoutedFrame[]; covered: boolean };
}

/** What a resuming connection is sent before it goes live, per organization. */
export interface CatchUp {
  /** Per resumed organization: did the history reach back to the client's id? */
  readonly recovered: Record<string, boolean>;
  /** Frames read from history, per organization, oldest first. */
  readonly replay: ReadonlyMap<string, readonly string[]>;
  /** Per replayed organization, the newest id already covered by `replay`. */
  readonly replayedUpTo: ReadonlyMap<string, string>;
}

const MAX_REREADS = 5;

/**
 * Reads what a resuming client missed. Must be called after the organizations' feeds are bound, so
 * every event newer than what the history returns is either in the feed buffer or still to come.
 * Resolves only when the feed buffers cover the gap between history and live (re-reading history
 * when a burst pushed frames out of a buffer meanwhile): the caller then goes live in the same tick.
 */
export async function readCatchUp(
  organizations: readonly string[],
  resume: ResumeCursor,
  history: HistoryStore,
  feeds: FeedView,
  maxEvents: number,
): Promise<CatchUp> {
  const recovered: Record<string, boolean> = {};
  const replay = new Map<string, string[]>();
  const replayedUpTo = new Map<string, string>();
  await Promise.all(organizations.filter((org) => resume.has(org)).map(async (org) => {
    let after = resume.get(org)!;
    const frames: string[] = [];
    for (let attempt = 0; attempt <= MAX_REREADS; attempt += 1) {
      const read = await history.readAfter(org, after, maxEvents - frames.length);
      if (!read.complete || read.more) {
        recovered[org] = false;
        return;
      }
      for (const entry of read.entries) frames.push(taskFrameJson(entry.eventType, entry.id, org, entry.dataJson, entry.timestampMs));
      after = read.entries.length > 0 ? read.entries[read.entries.length - 1]!.id : after;
      if (feeds.framesAfter(org, after).covered) {
        recovered[org] = true;
        replay.set(org, frames);
        replayedUpTo.set(org, after);
        return;
      }
    }
    recovered[org] = false;
  }));
  return { recovered, replay, replayedUpTo };
}

/** Whether every replayed organization is still covered by the feed buffers (checked right before going live). */
export function stillCovered(catchUp: CatchUp, feeds: FeedView): boolean {
  for (const [org, upTo] of catchUp.replayedUpTo) if (!feeds.framesAfter(org, upTo).covered) return false;
  return true;
}
