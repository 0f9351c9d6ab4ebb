import type { Logger } from 'pino';
import type { RoutedFrame } from '../consumer/cluster-source.js';
import { compareEventIds } from '../history/event-id.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { organizationTopic, type TopicBroadcaster } from '../session/socket-port.js';

/** How a pod subscribes to an organization's sequenced events (broker bindings, or nothing in embedded mode). */
export interface FeedBinder {
  bindOrganization(organizationId: string): Promise<void>;
  unbindOrganization(organizationId: string): Promise<void>;
}

export interface OrganizationFeedsOptions {
  /** Frames kept per organization for catch-up merges. */
  readonly bufferSize: number;
  /** How long frames stay in the buffer. */
  readonly bufferMs: number;
  /** How long a binding outlives its last local interest (so reconnects and polls do not churn bindings). */
  readonly lingerMs: number;
}

interface Feed {
  interest: number;
  binding: Promise<void> | undefined;
  unbindTimer: NodeJS.Timeout | undefined;
  /** Recent frames, oldest first. */
  readonly buffer: Array<{ readonly frame: RoutedFrame; readonly atMs: number }>;
  /** Newest id dropped from the buffer (frames after it are all still there). */
  evictedUpTo: string;
  /** Newest id delivered: an older or equal id is a redelivery and is dropped. */
  lastId: string;
  readonly waiters: Set<() => void>;
}

const NO_ID = '0-0';

/**
 * This pod's view of each organization it serves: the broker binding (bound on first local interest,
 * unbound lazily after the last), the fan-out to the organization's topic, duplicate suppression by id,
 * a short buffer of recent frames for gap-free catch-up, and wake-ups for long polls. No I/O besides
 * the binder and the broadcaster.
 */
export class OrganizationFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(
    private readonly binder: FeedBinder,
    private readonly broadcaster: TopicBroadcaster,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly options: OrganizationFeedsOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers interest in an organization; resolves once its events reach this pod. */
  acquire(organizationId: string): Promise<void> {
    const feed = this.feed(organizationId);
    feed.interest += 1;
    if (feed.unbindTimer !== undefined) {
      clearTimeout(feed.unbindTimer);
      feed.unbindTimer = undefined;
    }
    if (feed.binding === undefined) {
      const binding = this.binder.bindOrganization(organizationId);
      feed.binding = binding;
      binding.catch(() => {
        // A failed bind is retried by the next acquire; the caller sees the rejection.
        if (feed.binding === binding) feed.binding = undefined;
      });
    }
    return feed.binding;
  }

  /** Drops interest; the binding goes after `lingerMs` without interest. */
  release(organizationId: string): void {
    const feed = this.feeds.get(organizationId);
    if (feed === undefined || feed.interest === 0) return;
    feed.interest -= 1;
    if (feed.interest > 0 || feed.unbindTimer !== undefined) return;
    feed.unbindTimer = setTimeout(() => this.unbind(organizationId, feed), this.options.lingerMs);
    feed.unbindTimer.unref();
  }

  /** A sequenced frame arrived: fan it out once, remember it, wake pollers. Returns the sockets reached. */
  deliver(frame: RoutedFrame): number {
    const feed = this.feeds.get(frame.organizationId);
    if (feed === undefined || feed.binding === undefined) return 0;
    if (compareEventIds(frame.id, feed.lastId) <= 0) {
      this.metrics.eventsDuplicateDropped.inc();
      return 0;
    }
    feed.lastId = frame.id;
    const nowMs = this.now();
    feed.buffer.push({ frame, atMs: nowMs });
    this.evict(feed, nowMs);
    const delivered = this.broadcaster.publish(organizationTopic(frame.organizationId), frame.frame);
    this.metrics.eventsDelivered.inc(delivered);
    this.metrics.deliveriesPerEvent.observe(delivered);
    if (frame.publishedAtMs !== undefined && delivered > 0) this.metrics.deliveryLatency.observe(Math.max(0, nowMs - frame.publishedAtMs) / 1000);
    for (const wake of feed.waiters) wake();
    feed.waiters.clear();
    return delivered;
  }

  /**
   * Buffered frames newer than `afterId`. `covered` is false when frames newer than `afterId` were
   * already dropped from the buffer (the caller must read history again from a later point).
   */
  framesAfter(organizationId: string, afterId: string): { frames: RoutedFrame[]; covered: boolean } {
    const feed = this.feeds.get(organizationId);
    if (feed === undefined) return { frames: [], covered: true };
    const frames = feed.buffer.filter((b) => compareEventIds(b.frame.id, afterId) > 0).map((b) => b.frame);
    return { frames, covered: compareEventIds(feed.evictedUpTo, afterId) <= 0 };
  }

  /** Resolves when any of the organizations gets a frame, or after `timeoutMs`. */
  waitForAny(organizationIds: readonly string[], timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        for (const id of organizationIds) this.feeds.get(id)?.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      for (const id of organizationIds) this.feed(id).waiters.add(wake);
    });
  }

  /** Organizations with a binding on this pod. */
  get boundCount(): number {
    let count = 0;
    for (const feed of this.feeds.values()) if (feed.binding !== undefined) count += 1;
    return count;
  }

  /** The newest id delivered on this pod for the organization (`0-0` when none). */
  lastDelivered(organizationId: string): string {
    return this.feeds.get(organizationId)?.lastId ?? NO_ID;
  }

  /**
   * Other holders of interest in the organization on this pod, besides the caller's own (sockets,
   * connections being set up, long polls): those a newcomer's fast-forward may concern.
   */
  othersInterested(organizationId: string): number {
    return Math.max(0, (this.feeds.get(organizationId)?.interest ?? 0) - 1);
  }

  /**
   * A connection goes live after `upTo` (it got everything up to there from history). Moves the
   * feed up to that point first: `frames` (read from history after `lastDelivered`) are published
   * to the sockets already subscribed, so that, from now on, every socket of the organization needs
   * exactly the frames newer than the feed's last id, and a late or re-routed older frame is dropped
   * instead of reaching the newcomer twice.
   */
  advance(organizationId: string, upTo: string, frames: readonly RoutedFrame[]): void {
    const feed = this.feeds.get(organizationId);
    if (feed === undefined || compareEventIds(upTo, feed.lastId) <= 0) return;
    for (const frame of frames) if (compareEventIds(frame.id, upTo) <= 0) this.deliver(frame);
    if (compareEventIds(upTo, feed.lastId) > 0) feed.lastId = upTo;
  }

  /** Bound organizations with the newest id delivered for each (what a resync reads after). */
  boundOrganizations(): Array<{ organizationId: string; lastId: string }> {
    const bound: Array<{ organizationId: string; lastId: string }> = [];
    for (const [organizationId, feed] of this.feeds) if (feed.binding !== undefined) bound.push({ organizationId, lastId: feed.lastId });
    return bound;
  }

  isBound(organizationId: string): boolean {
    return this.feeds.get(organizationId)?.binding !== undefined;
  }

  /** Drops aged frames of idle feeds (call periodically). */
  sweep(): void {
    const nowMs = this.now();
    for (const feed of this.feeds.values()) this.evict(feed, nowMs);
  }

  /** Stops every linger timer (shutdown). */
  close(): void {
    for (const feed of this.feeds.values()) {
      if (feed.unbindTimer !== undefined) clearTimeout(feed.unbindTimer);
      feed.unbindTimer = undefined;
      for (const wake of [...feed.waiters]) wake();
    }
  }

  private feed(organizationId: string): Feed {
    let feed = this.feeds.get(organizationId);
    if (feed === undefined) {
      feed = { interest: 0, binding: undefined, unbindTimer: undefined, buffer: [], evictedUpTo: NO_ID, lastId: NO_ID, waiters: new Set() };
      this.feeds.set(organizationId, feed);
    }
    return feed;
  }

  private evict(feed: Feed, nowMs: number): void {
    const { bufferSize, bufferMs } = this.options;
    let drop = 0;
    while (drop < feed.buffer.length && (feed.buffer.length - drop > bufferSize || nowMs - feed.buffer[drop]!.atMs > bufferMs)) drop += 1;
    if (drop === 0) return;
    feed.evictedUpTo = feed.buffer[drop - 1]!.frame.id;
    feed.buffer.splice(0, drop);
  }

  private unbind(organizationId: string, feed: Feed): void {
    feed.unbindTimer = undefined;
    if (feed.interest > 0 || feed.waiters.size > 0) return;
    feed.binding = undefined;
    // Frames that arrive after the unbind would be missed: forget the buffer so no catch-up trusts it.
    feed.evictedUpTo = feed.lastId;
    feed.buffer.length = 0;
    this.binder.unbindOrganization(organizationId).then(
      () => {
        if (feed.binding === undefined && feed.interest === 0) this.feeds.delete(organizationId);
      },
      (error: unknown) => this.logger.warn({ err: error, organization: organizationId }, 'unbinding an organization failed; it stays bound until the queue goes'),
    );
  }
}
