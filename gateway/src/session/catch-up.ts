import type { HistoryStore } from '../history/history-store.js';
import type { RoutedFrame } from '../consumer/cluster-source.js';
import type { ResumeCursor } from '../protocol/resume.js';
import { compareEventIds } from '../history/event-id.js';
import { taskFrameJson } from '../protocol/task-frame.js';

/** Where the live feeds of this pod stand, as far as a catch-up needs to know. */
export interface FeedView {
  framesAfter(organizationId: string, afterId: string): { frames: RoutedFrame[]; covered: boolean };
  lastDelivered(organizationId: string): string;
  othersInterested(organizationId: string): number;
}

/** What a connection is sent before it goes live, per organization. */
export interface CatchUp {
  /** Per resumed organization: did the history reach back to the client's id? */
  readonly recovered: Record<string, boolean>;
  /** Frames read from history, per organization, oldest first. */
  readonly replay: ReadonlyMap<string, readonly string[]>;
  /**
   * Per organization, the id the connection starts after: the last replayed id, or the end of the
   * history when nothing is replayed. Every event after it reaches the client, from the feed buffer
   * or live. Sent to the client as its initial `resume` cursor.
   */
  readonly startAfter: ReadonlyMap<string, string>;
  /**
   * The cursor reported in `connection.established`: per organization, the id after which the
   * frames that follow it (replay, then live) start, i.e. the client's own id for a replayed
   * organization and `startAfter` for the others. A client may seed its cursor with it.
   */
  readonly cursor: ReadonlyMap<string, string>;
  /**
   * Per organization whose feed on this pod is behind the start and already has subscribers: the
   * history frames between the feed's last id and the start, which the subscribers still need.
   */
  readonly fastForward: ReadonlyMap<string, readonly RoutedFrame[]>;
}

const MAX_REREADS = 5;

/**
 * Reads where each organization starts and, for resumed ones, what the client missed. Must be
 * called after the organizations' feeds are bound, so every event newer than what the history
 * returns is either in the feed buffer or still to come. Resolves only when the feed buffers cover
 * the gap between history and live (re-reading history when a burst pushed frames out of a buffer
 * meanwhile): the caller then goes live in the same tick.
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
  const startAfter = new Map<string, string>();
  const cursor = new Map<string, string>();
  await Promise.all(organizations.map(async (org) => {
    const from = resume.get(org);
    if (from !== undefined) {
      const frames = await readMissed(org, from, history, feeds, maxEvents);
      recovered[org] = frames !== undefined;
      if (frames !== undefined) {
        replay.set(org, frames.frames);
        startAfter.set(org, frames.upTo);
        cursor.set(org, from);
        return;
      }
    }
    const start = await liveStart(org, history, feeds);
    startAfter.set(org, start);
    cursor.set(org, start);
  }));
  const fastForward = new Map<string, RoutedFrame[]>();
  await Promise.all([...startAfter].map(async ([org, start]) => {
    const last = feeds.lastDelivered(org);
    if (feeds.othersInterested(org) === 0 || compareEventIds(last, start) >= 0) return;
    const read = await history.readAfter(org, last, maxEvents);
    fastForward.set(org, read.entries.filter((e) => compareEventIds(e.id, start) <= 0).map((entry) => ({
      organizationId: org,
      id: entry.id,
      frame: taskFrameJson(entry.eventType, entry.id, org, entry.dataJson, entry.timestampMs),
      publishedAtMs: entry.timestampMs,
    })));
  }));
  return { recovered, replay, startAfter, cursor, fastForward };
}

/** The history after `from` up to a point the feed buffer covers; undefined when not recoverable. */
async function readMissed(org: string, from: string, history: HistoryStore, feeds: FeedView, maxEvents: number): Promise<{ frames: string[]; upTo: string } | undefined> {
  let after = from;
  const frames: string[] = [];
  for (let attempt = 0; attempt <= MAX_REREADS; attempt += 1) {
    const read = await history.readAfter(org, after, maxEvents - frames.length);
    if (!read.complete || read.more) return undefined;
    for (const entry of read.entries) frames.push(taskFrameJson(entry.eventType, entry.id, org, entry.dataJson, entry.timestampMs));
    if (read.entries.length > 0) after = read.entries[read.entries.length - 1]!.id;
    if (feeds.framesAfter(org, after).covered) return { frames, upTo: after };
  }
  return undefined;
}

/** The end of the history, at a point the feed buffer covers (read again if a burst evicted it). */
async function liveStart(org: string, history: HistoryStore, feeds: FeedView): Promise<string> {
  let last = await history.lastId(org);
  for (let attempt = 0; attempt < MAX_REREADS && !feeds.framesAfter(org, last).covered; attempt += 1) last = await history.lastId(org);
  return last;
}

/** Whether the feed buffers still cover every organization's start (checked right before going live). */
export function stillCovered(catchUp: CatchUp, feeds: FeedView): boolean {
  for (const [org, upTo] of catchUp.startAfter) if (!feeds.framesAfter(org, upTo).covered) return false;
  return true;
}
