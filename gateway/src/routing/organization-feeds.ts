import type { Logger } from 'pino';
import type { CommandFence } from '../cluster/command-progress.js';
import type { FeedBinder } from '../events/event-transport.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import { compareEventIds } from '../history/event-id.js';
import type { HistoryStore } from '../history/history-store.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { backoffDelay } from '../retry/backoff.js';
import { resyncFrameJson } from '../protocol/frames.js';
import { organizationTopic, type TopicBroadcaster } from '../session/socket-port.js';
import { OrganizationFeed, type FeedContext, type FeedReport } from './organization-feed.js';

export interface OrganizationFeedsOptions {
  /** Frames kept per organization for catch-up merges. */
  readonly bufferSize: number;
  /** How long frames stay in the buffer. */
  readonly bufferMs: number;
  /** How long a binding outlives its last local interest (so reconnects and polls do not churn bindings). */
  readonly lingerMs: number;
}

interface Entry {
  readonly feed: OrganizationFeed;
  interest: number;
  binding: Promise<void> | undefined;
  unbindTimer: NodeJS.Timeout | undefined;
  readonly waiters: Set<() => void>;
  /** The history's last id seen by the previous check, for the next one. */
  checkTarget: string | undefined;
}

const PAGE_SIZE = 1_000;
const MAX_PENDING = 10_000;

/**
 * This pod's view of each organization it serves: the broker binding (bound on first local interest,
 * unbound lazily after the last), the feed (organization-feed.ts: gap-free delivery, repaired from
 * history), and wake-ups for long polls.
 */
export class OrganizationFeeds {
  private readonly entries = new Map<string, Entry>();
  private readonly context: FeedContext;

  constructor(
    private readonly binder: FeedBinder,
    private readonly broadcaster: TopicBroadcaster,
    private readonly history: Pick<HistoryStore, 'readAfter' | 'lastId'>,
    commands: Pick<CommandFence, 'hasHeard' | 'waitFor'>,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly options: OrganizationFeedsOptions,
    private readonly now: () => number = Date.now,
  ) {
    const report: FeedReport = {
      duplicate: () => metrics.eventsDuplicateDropped.inc(),
      fenceWait: (organization, seq) => {
        metrics.commandFenceWaits.inc();
        logger.debug({ organization, seq }, 'frames wait for this pod to apply a cluster command sequenced before them');
      },
      repaired: (organization, frames, why) => {
        metrics.feedRepairs.inc({ result: why === 'gap' ? 'repaired' : 'synced' });
        metrics.feedRepairedFrames.inc(frames);
        logger.info({ organization, frames, why }, why === 'gap' ? 'frames missing on the routed path were read from history' : 'frames read from history after a sync');
      },
      resync: (organization, reason) => {
        metrics.feedRepairs.inc({ result: 'resync' });
        logger.warn({ organization, reason }, 'events no longer in history were missed: subscribers told to resync');
      },
      repairFailed: (organization, error, attempt) => logger.warn({ err: error, organization, attempt }, 'reading history to repair a feed failed; retrying'),
      fault: (organization, error) => {
        metrics.handlerErrors.inc({ handler: 'feed' });
        logger.error({ err: error, organization }, 'unexpected exception in a feed repair: the feed starts again from its next frame');
      },
    };
    this.context = {
      history,
      commands,
      publish: (organizationId, text, frame) => this.fanOut(organizationId, text, frame),
      subscribers: (organizationId) => broadcaster.subscribers(organizationTopic(organizationId)),
      now,
      bufferSize: options.bufferSize,
      bufferMs: options.bufferMs,
      pageSize: PAGE_SIZE,
      maxPending: MAX_PENDING,
      retryDelayMs: (attempt) => backoffDelay(attempt, { minMs: 100, maxMs: 5_000 }),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
      report,
    };
  }

  /** Registers interest in an organization; resolves once its events reach this pod. A rejection keeps the interest: release it. */
  acquire(organizationId: string): Promise<void> {
    const entry = this.entry(organizationId);
    entry.interest += 1;
    if (entry.unbindTimer !== undefined) {
      clearTimeout(entry.unbindTimer);
      entry.unbindTimer = undefined;
    }
    if (entry.binding === undefined) {
      const binding = this.binder.bindOrganization(organizationId);
      entry.binding = binding;
      binding.catch(() => {
        // A failed bind is retried by the next acquire; the caller sees the rejection.
        if (entry.binding === binding) entry.binding = undefined;
      });
    }
    return entry.binding;
  }

  /** Drops interest; the binding goes after `lingerMs` without interest. */
  release(organizationId: string): void {
    const entry = this.entries.get(organizationId);
    if (entry === undefined || entry.interest === 0) return;
    entry.interest -= 1;
    if (entry.interest > 0 || entry.unbindTimer !== undefined) return;
    entry.unbindTimer = setTimeout(() => this.unbind(organizationId, entry), this.options.lingerMs);
    entry.unbindTimer.unref();
  }

  /** A routed frame arrived for this pod. */
  deliver(frame: RoutedFrame): void {
    const entry = this.entries.get(frame.organizationId);
    if (entry === undefined || entry.binding === undefined) return;
    entry.feed.deliver(frame);
  }

  /** The feed of a bound organization (undefined when not bound here). */
  feed(organizationId: string): OrganizationFeed | undefined {
    const entry = this.entries.get(organizationId);
    return entry?.binding === undefined ? undefined : entry.feed;
  }

  /** The newest id this pod's feed delivered for the organization; undefined when not known. */
  lastDelivered(organizationId: string): string | undefined {
    return this.feed(organizationId)?.lastId;
  }

  /** Resolves when any of the organizations gets a frame, after `timeoutMs`, or when `signal` aborts. */
  waitForAny(organizationIds: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        for (const id of organizationIds) this.entries.get(id)?.waiters.delete(wake);
        resolve();
      };
      if (signal?.aborted === true) {
        resolve();
        return;
      }
      const timer = setTimeout(wake, timeoutMs);
      signal?.addEventListener('abort', wake, { once: true });
      for (const id of organizationIds) this.entry(id).waiters.add(wake);
    });
  }

  /** Organizations with a binding on this pod. */
  get boundCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.binding !== undefined) count += 1;
    return count;
  }

  isBound(organizationId: string): boolean {
    return this.entries.get(organizationId)?.binding !== undefined;
  }

  /** After a reconnection of the routed path: every bound feed reads history up to its end. */
  syncAll(): number {
    let count = 0;
    for (const entry of this.entries.values()) {
      if (entry.binding === undefined || entry.feed.lastId === undefined) continue;
      entry.feed.sync();
      count += 1;
    }
    return count;
  }

  /**
   * The store lost its data: every feed with subscribers tells them to resync (what they missed
   * around the loss cannot be known), and no feed keeps a position from before it.
   */
  storeLost(): void {
    for (const entry of this.entries.values()) {
      if (entry.binding === undefined) continue;
      const organizationId = entry.feed.organizationId;
      if (this.broadcaster.subscribers(organizationTopic(organizationId)) > 0) {
        this.metrics.feedRepairs.inc({ result: 'resync' });
        this.fanOut(organizationId, resyncFrameJson(organizationId, 'history_lost'), undefined);
      }
      entry.feed.forget();
      entry.checkTarget = undefined;
    }
  }

  /**
   * The periodic check against history, a net under every other mechanism: a feed with subscribers
   * that is still behind the history's last id of the previous check (a frame lost with nothing
   * after it to reveal the gap) reads history up to its end.
   */
  async check(): Promise<void> {
    const due = [...this.entries.values()].filter((entry) => entry.binding !== undefined && entry.feed.lastId !== undefined
      && this.broadcaster.subscribers(organizationTopic(entry.feed.organizationId)) > 0);
    for (let i = 0; i < due.length; i += 100) {
      await Promise.all(due.slice(i, i + 100).map(async (entry) => {
        const { feed } = entry;
        const target = entry.checkTarget;
        if (target !== undefined && feed.lastId !== undefined && compareEventIds(feed.lastId, target) < 0 && !feed.isRepairing) {
          this.metrics.feedRepairs.inc({ result: 'checked_behind' });
          feed.sync();
        }
        entry.checkTarget = await this.history.lastId(feed.organizationId);
      }));
    }
  }

  /** Drops aged frames of idle feeds (call periodically). */
  sweep(): void {
    const nowMs = this.now();
    for (const entry of this.entries.values()) entry.feed.evict(nowMs);
  }

  /** Stops every linger timer and wakes every poll (shutdown). */
  close(): void {
    for (const entry of this.entries.values()) {
      if (entry.unbindTimer !== undefined) clearTimeout(entry.unbindTimer);
      entry.unbindTimer = undefined;
      for (const wake of [...entry.waiters]) wake();
    }
  }

  private fanOut(organizationId: string, text: string, frame: RoutedFrame | undefined): number {
    const delivered = this.broadcaster.publish(organizationTopic(organizationId), text);
    if (frame !== undefined) {
      this.metrics.eventsDelivered.inc(delivered);
      this.metrics.deliveriesPerEvent.observe(delivered);
      if (frame.publishedAtMs !== undefined && delivered > 0) this.metrics.deliveryLatency.observe(Math.max(0, this.now() - frame.publishedAtMs) / 1000);
    }
    const entry = this.entries.get(organizationId);
    if (entry !== undefined && entry.waiters.size > 0) {
      for (const wake of [...entry.waiters]) wake();
      entry.waiters.clear();
    }
    return delivered;
  }

  private entry(organizationId: string): Entry {
    let entry = this.entries.get(organizationId);
    if (entry === undefined) {
      entry = { feed: new OrganizationFeed(organizationId, this.context), interest: 0, binding: undefined, unbindTimer: undefined, waiters: new Set(), checkTarget: undefined };
      this.entries.set(organizationId, entry);
    }
    return entry;
  }

  private unbind(organizationId: string, entry: Entry): void {
    entry.unbindTimer = undefined;
    if (entry.interest > 0 || entry.waiters.size > 0) return;
    entry.binding = undefined;
    // Frames that arrive after the unbind would be missed: nothing may rely on this feed's position.
    entry.feed.forget();
    this.binder.unbindOrganization(organizationId).then(
      () => {
        if (entry.binding === undefined && entry.interest === 0) this.entries.delete(organizationId);
      },
      (error: unknown) => this.logger.warn({ err: error, organization: organizationId }, 'unbinding an organization failed; it stays bound until the queue goes'),
    );
  }
}
