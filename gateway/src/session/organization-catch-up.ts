import { frameOfEntry } from '../events/history-frame.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import { compareEventIds } from '../history/event-id.js';
import type { HistoryStore } from '../history/history-store.js';
import { resyncFrameJson } from '../protocol/frames.js';
import type { OrganizationFeed } from '../routing/organization-feed.js';

/** Where a catch-up takes its frames and its way to go live. */
export interface CatchUpDeps {
  readonly history: Pick<HistoryStore, 'readAfter'>;
  /** The organization's feed on this pod; undefined when it is not bound here (any more). */
  feed(organizationId: string): OrganizationFeed | undefined;
  /** Sockets already subscribed to the organization on this pod. */
  subscribers(organizationId: string): number;
  /** History entries read per page. */
  readonly pageSize: number;
  /** Frames are sent only while the socket buffers less than this (so that none is ever dropped). */
  readonly budgetBytes: number;
  /** A failed history read: wait this long before the next (attempt 1, 2, ...); undefined: give up. */
  retryDelayMs(attempt: number): number | undefined;
  /** An unexpected exception in a step after a read (the catch-up then fails: the client resumes). */
  fault(error: unknown): void;
}

/** The connection a catch-up sends to. */
export interface CatchUpTarget {
  /** Sends a text frame; false when the socket is gone or dropped it (the catch-up then stops). */
  send(text: string): boolean;
  bufferedAmount(): number;
  /** Subscribes the socket to the organization's live frames. */
  subscribe(organizationId: string): void;
}

export type CatchUpOutcome = 'live' | 'stopped' | 'failed';

/**
 * Brings one connection from a position in one organization's sequence to live, without a gap or
 * a duplicate, under backpressure: frames (replayed from history, or from the feed's buffer) are
 * sent only while the socket's buffer is below the budget and go on when it drains; once the
 * connection has everything the feed delivered, it subscribes to the live frames in the same step.
 * When the connection got further than the feed (history was read ahead of the routed path), the
 * feed is first moved up with those frames, which its subscribers need anyway.
 *
 * `stopAt` (a removal's position): nothing after it is sent, and the catch-up ends there.
 */
export class OrganizationCatchUp {
  /** The last id the connection has (sent, or its starting point). */
  position: string;
  private readonly queue: RoutedFrame[];
  private reading = false;
  private waitingForFeed = false;
  private attempts = 0;
  private done = false;
  private stopAt: string | undefined;
  /** The last history read returned nothing more: the position is the end of history. */
  private readToEnd = false;
  /** The position the connection was last told to resync at (history no longer reached it). */
  private resyncedAt: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly organizationId: string,
    start: string,
    replay: readonly RoutedFrame[],
    private readonly target: CatchUpTarget,
    private readonly deps: CatchUpDeps,
    private readonly finished: (outcome: CatchUpOutcome) => void,
  ) {
    this.position = start;
    this.queue = [...replay];
  }

  /** The connection is gone: stop, silently (nothing more is read or sent). */
  cancel(): void {
    this.stop();
  }

  /** Ends the catch-up after `position`: a removal that takes effect there. */
  stopAfter(position: string): void {
    this.stopAt = this.stopAt === undefined || compareEventIds(position, this.stopAt) < 0 ? position : this.stopAt;
    this.pump();
  }

  /** Sends what the budget allows; goes live once nothing is left. Call again when the socket drains. */
  pump(): void {
    if (this.done) return;
    while (this.queue.length > 0) {
      if (this.reachedStop()) return;
      if (this.target.bufferedAmount() >= this.deps.budgetBytes) return;
      const frame = this.queue.shift()!;
      if (compareEventIds(frame.id, this.position) <= 0) continue;
      if (this.stopAt !== undefined && compareEventIds(frame.id, this.stopAt) > 0) continue;
      if (!this.target.send(frame.frame)) {
        this.finish('failed');
        return;
      }
      this.position = frame.id;
    }
    if (this.reachedStop() || this.reading || this.waitingForFeed) return;
    this.tryLive();
  }

  private reachedStop(): boolean {
    if (this.stopAt === undefined || compareEventIds(this.position, this.stopAt) < 0) return false;
    this.finish('stopped');
    return true;
  }

  private tryLive(): void {
    const feed = this.deps.feed(this.organizationId);
    if (feed === undefined) {
      this.finish('failed');
      return;
    }
    if (this.stopAt !== undefined) {
      // Removed further on: read up to the removal; nothing of it goes live.
      this.read();
      return;
    }
    const last = feed.lastId;
    if (last === undefined) {
      // The feed has no position yet: frames sequenced after ours but before the feed was bound
      // never came this way. Read history up to its end first; the feed starts where that ends.
      if (!this.readToEnd) {
        this.read();
        return;
      }
      feed.startAt(this.position);
      this.live();
      return;
    }
    const order = compareEventIds(this.position, last);
    if (order === 0) {
      this.live();
      return;
    }
    if (order < 0) {
      const { frames, covered } = feed.framesAfter(this.position);
      if (!covered) {
        this.read();
        return;
      }
      this.queue.push(...frames);
      this.pump();
      return;
    }
    // Ahead of the feed: move it up first (nobody else depends on it without subscribers).
    if (feed.isRepairing) {
      this.waitingForFeed = true;
      feed.whenIdle().then(() => {
        this.waitingForFeed = false;
        this.pump();
      }).catch((error: unknown) => this.fail(error));
      return;
    }
    if (this.deps.subscribers(this.organizationId) === 0) {
      feed.startAt(this.position);
      this.live();
      return;
    }
    this.fastForward(feed, last);
  }

  private live(): void {
    this.target.subscribe(this.organizationId);
    this.finish('live');
  }

  /** Reads the history after the position into the queue, then pumps on. */
  private read(): void {
    this.reading = true;
    this.deps.history.readAfter(this.organizationId, this.position, this.deps.pageSize).then((page) => {
      this.reading = false;
      this.attempts = 0;
      if (this.done) return;
      if (!page.complete) {
        // What this connection missed is gone from history: it must refetch (told once per gap);
        // then on from what is left, or from the feed when history holds nothing after it.
        if (this.resyncedAt !== this.position) {
          if (!this.target.send(resyncFrameJson(this.organizationId, 'history_truncated'))) {
            this.finish('failed');
            return;
          }
          this.resyncedAt = this.position;
        }
        const rebase = page.entries.length > 0 ? page.entries[0]!.prev : this.deps.feed(this.organizationId)?.lastId;
        if (rebase !== undefined && compareEventIds(rebase, this.position) > 0) this.position = rebase;
      }
      for (const entry of page.entries) this.queue.push(frameOfEntry(this.organizationId, entry));
      this.readToEnd = page.entries.length === 0;
      const stopAt = this.stopAt;
      if (stopAt !== undefined && !page.entries.some((entry) => compareEventIds(entry.id, stopAt) <= 0)) {
        // Nothing more up to the removal in history: the connection has all it may have.
        this.stopAt = this.position;
      }
      this.pump();
    }, () => this.retry()).catch((error: unknown) => this.fail(error));
  }

  /** Reads what the feed lacks up to the position and hands it to the feed, then pumps on. */
  private fastForward(feed: OrganizationFeed, from: string): void {
    this.reading = true;
    const upTo = this.position;
    this.deps.history.readAfter(this.organizationId, from, this.deps.pageSize).then((page) => {
      this.reading = false;
      this.attempts = 0;
      if (this.done) return;
      // Only if the feed has not moved meanwhile; otherwise look again.
      if (feed.lastId === from && !feed.isRepairing) {
        if (!page.complete) {
          // The feed's own subscribers miss what history lost: the feed tells them, then this goes on.
          feed.sync();
        } else {
          const frames = page.entries.filter((entry) => compareEventIds(entry.id, upTo) <= 0).map((entry) => frameOfEntry(this.organizationId, entry));
          // A page short of the position moves the feed up by that page; the next look goes on from there.
          const partial = page.more && frames.length === page.entries.length && frames.length > 0;
          feed.advance(frames, partial ? frames[frames.length - 1]!.id : upTo);
        }
      }
      this.pump();
    }, () => this.retry()).catch((error: unknown) => this.fail(error));
  }

  private fail(error: unknown): void {
    this.deps.fault(error);
    this.finish('failed');
  }

  /**
   * A history read failed: waits, still `reading` (so that a drain or a stop meanwhile starts no
   * second read), then looks again from the current state.
   */
  private retry(): void {
    this.attempts += 1;
    const delayMs = this.deps.retryDelayMs(this.attempts);
    if (delayMs === undefined) {
      this.reading = false;
      this.finish('failed');
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.reading = false;
      if (this.done) return;
      try {
        this.pump();
      } catch (error) {
        this.fail(error);
      }
    }, delayMs);
    this.retryTimer.unref();
  }

  private finish(outcome: CatchUpOutcome): void {
    if (this.done) return;
    this.stop();
    this.finished(outcome);
  }

  private stop(): void {
    this.done = true;
    this.queue.length = 0;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
