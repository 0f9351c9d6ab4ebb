import type { CommandFence } from '../cluster/command-progress.js';
import { frameOfEntry } from '../events/history-frame.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import { compareEventIds } from '../history/event-id.js';
import type { HistoryStore } from '../history/history-store.js';
import { resyncFrameJson, type ResyncReason } from '../protocol/frames.js';

/** What a feed needs around it (OrganizationFeeds provides it). */
export interface FeedContext {
  readonly history: Pick<HistoryStore, 'readAfter'>;
  /** How far this pod has applied the cluster commands: a frame waits for the ones sequenced before it. */
  readonly commands: Pick<CommandFence, 'hasHeard' | 'waitFor'>;
  /** Fans a frame out to the organization's subscribed sockets; returns how many it reached. */
  publish(organizationId: string, text: string, frame: RoutedFrame | undefined): number;
  /** Sockets subscribed to the organization on this pod. */
  subscribers(organizationId: string): number;
  readonly now: () => number;
  readonly bufferSize: number;
  readonly bufferMs: number;
  /** Entries read per history page while repairing. */
  readonly pageSize: number;
  /** Frames held back while repairing; beyond it they are dropped and read from history instead. */
  readonly maxPending: number;
  /** A repair read failed: wait this long before the next attempt (doubling, capped). */
  readonly retryDelayMs: (attempt: number) => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly report: FeedReport;
}

/** What a feed tells the metrics and the log. */
export interface FeedReport {
  duplicate(): void;
  /** Frames wait for this pod to apply a cluster command sequenced before them (a membership change). */
  fenceWait(organizationId: string, seq: number): void;
  repaired(organizationId: string, frames: number, why: 'gap' | 'sync'): void;
  resync(organizationId: string, reason: ResyncReason): void;
  repairFailed(organizationId: string, error: unknown, attempt: number): void;
  /** An unexpected exception in a repair (a bug): the feed forgets its position rather than stall. */
  fault(organizationId: string, error: unknown): void;
}

interface Buffered {
  readonly frame: RoutedFrame;
  readonly atMs: number;
}

interface Watcher {
  readonly position: string;
  readonly fire: () => void;
}

/**
 * One organization's feed on this pod: the frames it delivered, in the organization's order and
 * without a hole. Every frame names the id before it (`prev`); one that does not follow the last
 * delivered id means frames were lost on the way (a pod queue that overflowed, a nacked publish, a
 * broker restart), and the feed reads them from history, the source of truth, before delivering
 * it (frames arriving meanwhile wait). What history no longer holds is announced to the subscribers
 * as an `organization.resync`. A frame sequenced after a cluster command (a membership change)
 * this pod has not applied yet waits for it, with the frames behind it (`commandFence`). No I/O
 * but the history reads and those waits.
 *
 * The position is unknown until the first frame, or until a connection sets it (`startAt`).
 */
export class OrganizationFeed {
  /** Newest id delivered; undefined while the position is unknown. */
  lastId: string | undefined;
  /** Recent frames, oldest first: every frame after `evictedUpTo` up to `lastId`. */
  private buffer: Buffered[] = [];
  private evictedUpTo: string | undefined;
  /** Frames that arrived while repairing, in arrival order. */
  private pending: RoutedFrame[] = [];
  private repairing: Promise<void> | undefined;
  /** A read up to the end of history is owed (after a reconnection, a check, a removal). */
  private syncOwed = false;
  private watchers: Watcher[] = [];
  private readonly idle = new Set<() => void>();

  constructor(readonly organizationId: string, private readonly context: FeedContext) {}

  get isRepairing(): boolean {
    return this.repairing !== undefined;
  }

  /** A routed frame arrived. */
  deliver(frame: RoutedFrame): void {
    if (this.repairing !== undefined) {
      this.hold(frame);
      return;
    }
    if (this.lastId !== undefined && compareEventIds(frame.id, this.lastId) <= 0) {
      this.context.report.duplicate();
      return;
    }
    if (frame.commandFence !== undefined && !this.context.commands.hasHeard(frame.commandFence)) {
      // A membership change sequenced before it has not taken effect here yet (the command stream
      // lags the broker): it waits, and the frames after it with it (repair's first step).
      this.pending.push(frame);
      this.startRepair();
      return;
    }
    if (this.lastId === undefined || frame.prev === undefined || frame.prev === this.lastId) {
      this.publish(frame);
      return;
    }
    if (this.context.subscribers(this.organizationId) === 0) {
      // Nobody depends on the hole: start again from this frame (catch-ups read history anyway).
      this.rebase(frame.prev);
      this.publish(frame);
      return;
    }
    this.pending.push(frame);
    this.startRepair();
  }

  /** Reads history up to its end and delivers what this feed missed (no-op while the position is unknown). */
  sync(): void {
    if (this.lastId === undefined) return;
    this.syncOwed = true;
    this.startRepair();
  }

  /**
   * Sets the position of a feed nobody receives yet, or moves it where nobody depends on it: the
   * connection going live at `id` receives every frame after it.
   */
  startAt(id: string): void {
    this.rebase(id);
  }

  /**
   * Moves the feed up to `upTo` with frames read from history (the ones between its last id and
   * `upTo`, oldest first), delivering them to the sockets already subscribed: a connection that
   * caught up further than the feed can then go live. Only when not repairing.
   */
  advance(frames: readonly RoutedFrame[], upTo: string): void {
    for (const frame of frames) if (compareEventIds(frame.id, upTo) <= 0) this.deliver(frame);
    if (this.repairing === undefined && (this.lastId === undefined || compareEventIds(this.lastId, upTo) < 0)) this.rebase(upTo);
  }

  /**
   * Frames after `afterId` still in the buffer. `covered` is false when some frame after `afterId`
   * is no longer there (or the position is unknown): the caller reads history instead.
   */
  framesAfter(afterId: string): { frames: RoutedFrame[]; covered: boolean } {
    const covered = this.evictedUpTo !== undefined && compareEventIds(this.evictedUpTo, afterId) <= 0;
    const frames: RoutedFrame[] = [];
    if (covered) for (const { frame } of this.buffer) if (compareEventIds(frame.id, afterId) > 0) frames.push(frame);
    return { frames, covered };
  }

  /**
   * Calls `fire` synchronously once the feed has delivered `position` (at once if it has), before
   * any later frame: a removal takes effect exactly after the events it follows. Starts a sync so
   * that a lost frame cannot hold it back.
   */
  whenDelivered(position: string, fire: () => void): void {
    if (this.lastId === undefined || compareEventIds(this.lastId, position) >= 0) {
      fire();
      return;
    }
    this.watchers.push({ position, fire });
    this.sync();
  }

  /** Resolves once no repair is running. */
  whenIdle(): Promise<void> {
    if (this.repairing === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  /** Drops aged frames from the buffer. */
  evict(nowMs: number): void {
    const { bufferSize, bufferMs } = this.context;
    let drop = 0;
    while (drop < this.buffer.length && (this.buffer.length - drop > bufferSize || nowMs - this.buffer[drop]!.atMs > bufferMs)) drop += 1;
    if (drop === 0) return;
    this.evictedUpTo = this.buffer[drop - 1]!.frame.id;
    this.buffer.splice(0, drop);
  }

  /** The feed no longer receives frames (unbound): forget the position, nothing can rely on it. */
  forget(): void {
    this.lastId = undefined;
    this.evictedUpTo = undefined;
    this.buffer = [];
    this.pending = [];
    this.syncOwed = false;
    for (const watcher of this.watchers.splice(0)) watcher.fire();
  }

  private publish(frame: RoutedFrame): void {
    this.lastId = frame.id;
    this.evictedUpTo ??= frame.prev ?? frame.id;
    const nowMs = this.context.now();
    this.buffer.push({ frame, atMs: nowMs });
    this.evict(nowMs);
    this.context.publish(this.organizationId, frame.frame, frame);
    if (this.watchers.length > 0) this.fireWatchers();
  }

  private fireWatchers(): void {
    const lastId = this.lastId;
    if (lastId === undefined) return;
    const due = this.watchers.filter((w) => compareEventIds(lastId, w.position) >= 0);
    if (due.length === 0) return;
    this.watchers = this.watchers.filter((w) => !due.includes(w));
    for (const watcher of due) watcher.fire();
  }

  private rebase(id: string): void {
    this.lastId = id;
    this.evictedUpTo = id;
    this.buffer = [];
    if (this.watchers.length > 0) this.fireWatchers();
  }

  /** Rebases to `id` only when it lies ahead: the feed never goes back behind what it delivered. */
  private rebaseForward(id: string): void {
    if (this.lastId === undefined || compareEventIds(id, this.lastId) > 0) this.rebase(id);
  }

  private hold(frame: RoutedFrame): void {
    if (this.pending.length < this.context.maxPending) {
      this.pending.push(frame);
      return;
    }
    // Too much held back: drop it all and read it from history with the rest.
    this.pending = [];
    this.syncOwed = true;
  }

  private startRepair(): void {
    if (this.repairing !== undefined) return;
    this.repairing = this.repair().catch((error: unknown) => {
      this.context.report.fault(this.organizationId, error);
      this.forget();
    }).finally(() => {
      this.repairing = undefined;
      // A frame held, or a sync asked for, after the loop's last look: another round.
      if (this.pending.length > 0 || this.syncOwed) {
        this.startRepair();
        return;
      }
      for (const resolve of [...this.idle]) resolve();
      this.idle.clear();
    });
  }

  /** Delivers the held frames that follow on, and reads history for the ones that do not. */
  private async repair(): Promise<void> {
    let read = 0;
    const why = this.syncOwed ? 'sync' : 'gap';
    for (let attempt = 0; ;) {
      await this.commandsApplied();
      this.deliverPendingThatFollow();
      if (this.lastId === undefined) {
        this.pending = [];
        break;
      }
      if (this.pending.length === 0 && !this.syncOwed) break;
      const target = this.pending[0];
      const fromHead = target === undefined;
      if (fromHead) this.syncOwed = false;
      const after = this.lastId;
      let page;
      try {
        page = await this.context.history.readAfter(this.organizationId, after, this.context.pageSize);
      } catch (error) {
        attempt += 1;
        this.context.report.repairFailed(this.organizationId, error, attempt);
        if (fromHead) this.syncOwed = true;
        await this.context.sleep(this.context.retryDelayMs(attempt));
        continue;
      }
      attempt = 0;
      if (this.lastId !== after) continue; // moved meanwhile (unbound and rebound): start over
      if (!page.complete) {
        // Gone from history for good: say so, then go on from what history still holds.
        this.announce('history_truncated');
        this.rebaseForward(page.entries[0]?.prev ?? target?.prev ?? after);
      }
      let progressed = false;
      for (const entry of page.entries) {
        if (target !== undefined && compareEventIds(entry.id, target.id) >= 0) break;
        if (compareEventIds(entry.id, this.lastId) <= 0) continue;
        this.publish(frameOfEntry(this.organizationId, entry));
        read += 1;
        progressed = true;
      }
      if (fromHead && page.more) this.syncOwed = true;
      const reachedTarget = target !== undefined && (!page.more || (page.entries[0] !== undefined && compareEventIds(page.entries[0].id, target.id) >= 0));
      if (!progressed && target?.prev !== undefined && target.prev !== this.lastId && reachedTarget) {
        // History holds nothing between the last id and the frame. When its prev is newer than the
        // last id, that entry is lost (Redis lost data): say so. Either way the frame follows on
        // (unless the hold overflowed meanwhile: the sync owed then reads it from history).
        if (compareEventIds(target.prev, this.lastId) > 0) this.announce('history_lost');
        if (this.pending[0] === target) {
          this.pending.shift();
          this.publish(target);
        }
      }
    }
    if (read > 0) this.context.report.repaired(this.organizationId, read, why);
  }

  /** Waits until this pod has applied every cluster command sequenced before the frames held. */
  private async commandsApplied(): Promise<void> {
    for (;;) {
      let fence: number | undefined;
      for (const frame of this.pending) {
        const seq = frame.commandFence;
        if (seq !== undefined && (fence === undefined || seq > fence) && !this.context.commands.hasHeard(seq)) fence = seq;
      }
      if (fence === undefined) return;
      this.context.report.fenceWait(this.organizationId, fence);
      await this.context.commands.waitFor(fence);
    }
  }

  private deliverPendingThatFollow(): void {
    while (this.pending.length > 0) {
      const frame = this.pending[0]!;
      if (this.lastId !== undefined && compareEventIds(frame.id, this.lastId) <= 0) {
        this.pending.shift();
        this.context.report.duplicate();
        continue;
      }
      if (this.lastId !== undefined && frame.prev !== undefined && frame.prev !== this.lastId) return;
      this.pending.shift();
      this.publish(frame);
    }
  }

  private announce(reason: ResyncReason): void {
    this.context.report.resync(this.organizationId, reason);
    this.context.publish(this.organizationId, resyncFrameJson(this.organizationId, reason), undefined);
  }
}
