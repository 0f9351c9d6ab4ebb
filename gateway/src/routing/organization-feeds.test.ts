import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { FeedBinder } from '../events/event-transport.js';
import { frameOfEntry } from '../events/history-frame.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import { createMemoryHistoryStore } from '../history/memory-history-store.js';
import type { HistoryStore } from '../history/history-store.js';
import { CommandProgress } from '../cluster/command-progress.js';
import { createMetrics } from '../metrics/metrics.js';
import { OrganizationFeeds } from './organization-feeds.js';

/** Feeds over a real in-memory history; `subscribers` is what the topics report. */
function setup(options: Partial<{ bufferSize: number; bufferMs: number; lingerMs: number; fenceTimeoutMs: number }> = {}) {
  const bound = new Set<string>();
  const calls: string[] = [];
  const binder: FeedBinder = {
    bindOrganization: async (org) => {
      calls.push(`bind ${org}`);
      bound.add(org);
    },
    unbindOrganization: async (org) => {
      calls.push(`unbind ${org}`);
      bound.delete(org);
    },
  };
  const published: Array<[string, string]> = [];
  const topics = { subscribers: 3 };
  let clock = 0;
  const history = createMemoryHistoryStore({ maxLength: 100, maxAgeMs: 3_600_000, dedupeTtlSeconds: 60 });
  const reads = { count: 0, failNext: 0 };
  const readable: Pick<HistoryStore, 'readAfter' | 'lastId'> = {
    readAfter: async (org, after, limit) => {
      reads.count += 1;
      if (reads.failNext > 0) {
        reads.failNext -= 1;
        throw new Error('injected: Redis is away');
      }
      return history.readAfter(org, after, limit);
    },
    lastId: (org) => history.lastId(org),
  };
  const metrics = createMetrics({ collectDefaults: false });
  const timedOut: number[] = [];
  const commands = new CommandProgress({ timeoutMs: options.fenceTimeoutMs ?? 60_000, timedOut: (seq) => timedOut.push(seq) });
  const fence = { hasHeard: (seq: number) => commands.hasHeard(seq), waitFor: (seq: number) => commands.waitFor(seq) };
  const feeds = new OrganizationFeeds(binder, {
    publish: (topic, text) => (published.push([topic, text]), topics.subscribers),
    subscribers: () => topics.subscribers,
  }, readable, fence, metrics, pino({ level: 'silent' }), { bufferSize: 3, bufferMs: 1_000, lingerMs: 50, ...options }, () => clock);
  /** Appends n events to the organization's history; returns their frames, as the sequencer routes them. */
  let keys = 0;
  const append = async (org: string, n: number): Promise<RoutedFrame[]> => {
    const frames: RoutedFrame[] = [];
    for (let i = 0; i < n; i += 1) {
      keys += 1;
      const { id, prev } = await history.append(org, `k${keys}`, { eventType: 'task.event.created', dataJson: String(keys), timestampMs: 0 });
      frames.push(frameOfEntry(org, { id, prev, eventType: 'task.event.created', dataJson: String(keys), timestampMs: 0 }));
    }
    return frames;
  };
  const texts = (org = 'acme') => published.filter(([topic]) => topic === `o/${org}`).map(([, text]) => text);
  const ids = (org = 'acme') => texts(org).map((text) => (JSON.parse(text) as { id?: string; event_type: string }).id ?? (JSON.parse(text) as { event_type: string }).event_type);
  return { feeds, bound, calls, published, texts, ids, append, topics, reads, history, metrics, commands, timedOut, tick: (ms: number) => { clock += ms; } };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('OrganizationFeeds', () => {
  it('binds once on first interest and unbinds after the linger once nobody is left', async () => {
    vi.useFakeTimers();
    try {
      const { feeds, calls } = setup();
      await Promise.all([feeds.acquire('acme'), feeds.acquire('acme')]);
      expect(calls).toEqual(['bind acme']);
      feeds.release('acme');
      feeds.release('acme');
      await vi.advanceTimersByTimeAsync(20);
      await feeds.acquire('acme');
      await vi.advanceTimersByTimeAsync(100);
      expect(calls).toEqual(['bind acme']);
      feeds.release('acme');
      await vi.advanceTimersByTimeAsync(100);
      expect(calls).toEqual(['bind acme', 'unbind acme']);
      expect(feeds.isBound('acme')).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('publishes each id once, drops redeliveries and frames of unbound organizations', async () => {
    const { feeds, append, ids } = setup();
    await feeds.acquire('acme');
    const [a, b] = await append('acme', 2);
    const [g] = await append('globex', 1);
    feeds.deliver(a!);
    feeds.deliver(a!);
    feeds.deliver(b!);
    feeds.deliver(a!);
    feeds.deliver(g!);
    expect(ids()).toEqual([a!.id, b!.id]);
    expect(ids('globex')).toEqual([]);
  });

  it('holds a frame sequenced after a cluster command this pod has not applied, and the frames behind it, until it has', async () => {
    const { feeds, append, ids, commands, metrics } = setup();
    commands.applied(4);
    await feeds.acquire('acme');
    const [a, b, c] = await append('acme', 3);
    feeds.deliver({ ...a!, commandFence: 4 });
    // b follows a removal numbered 5 that the command reader has not heard yet; c comes right behind.
    feeds.deliver({ ...b!, commandFence: 5 });
    feeds.deliver({ ...c!, commandFence: 5 });
    await settle();
    expect(ids()).toEqual([a!.id]);
    commands.applied(5);
    await settle();
    expect(ids()).toEqual([a!.id, b!.id, c!.id]);
    expect((await metrics.registry.getSingleMetric('orgcast_command_fence_waits_total')?.get())?.values[0]?.value).toBe(1);
  });

  it('delivers held frames after the fence\'s timeout when the command reader cannot read, once per fence', async () => {
    const { feeds, append, ids, timedOut } = setup({ fenceTimeoutMs: 50 });
    await feeds.acquire('acme');
    const [a, b, c] = await append('acme', 3);
    feeds.deliver({ ...a!, commandFence: 7 });
    await settle();
    expect(ids()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(ids()).toEqual([a!.id]);
    feeds.deliver({ ...b!, commandFence: 7 });
    expect(ids()).toEqual([a!.id, b!.id]);
    feeds.deliver({ ...c!, commandFence: 8 });
    await settle();
    expect(ids()).toEqual([a!.id, b!.id]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(ids()).toEqual([a!.id, b!.id, c!.id]);
    expect(timedOut).toEqual([7, 8]);
  });

  it('reads what the routed path lost from history before delivering the frame that reveals it', async () => {
    const { feeds, append, ids, metrics } = setup();
    await feeds.acquire('acme');
    const frames = await append('acme', 6);
    feeds.deliver(frames[0]!);
    // 1, 2 and 3 were dropped on the way (a pod queue overflow); 4 arrives, then 5 while repairing.
    feeds.deliver(frames[4]!);
    feeds.deliver(frames[5]!);
    await settle();
    expect(ids()).toEqual(frames.map((f) => f.id));
    // A late redelivery of a repaired one is a duplicate.
    feeds.deliver(frames[2]!);
    expect(ids()).toHaveLength(6);
    expect(await metrics.registry.getSingleMetricAsString('orgcast_feed_repaired_frames_total')).toMatch(/ 3$/m);
  });

  it('repairs a frame overtaken by a later one (a nacked publish retried after the next)', async () => {
    const { feeds, append, ids } = setup();
    await feeds.acquire('acme');
    const [a, b, c] = await append('acme', 3);
    feeds.deliver(a!);
    feeds.deliver(c!);
    feeds.deliver(b!);
    await settle();
    expect(ids()).toEqual([a!.id, b!.id, c!.id]);
  });

  it('keeps trying a repair while history cannot be read, holding the frames in order', async () => {
    const { feeds, append, ids, reads } = setup();
    await feeds.acquire('acme');
    const frames = await append('acme', 4);
    feeds.deliver(frames[0]!);
    reads.failNext = 2;
    feeds.deliver(frames[2]!);
    feeds.deliver(frames[3]!);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(ids()).toEqual(frames.map((f) => f.id));
  });

  it('tells the subscribers to resync when what they missed is gone from history', async () => {
    const { feeds, append, ids } = setup();
    await feeds.acquire('acme');
    const frames = await append('acme', 3);
    feeds.deliver(frames[0]!);
    const more = await append('acme', 110); // history keeps 100: frames[1] and the next ones are gone
    feeds.deliver(more[109]!);
    await settle();
    const seen = ids();
    expect(seen[0]).toBe(frames[0]!.id);
    expect(seen[1]).toBe('organization.resync');
    // From there on, what history still holds, without a hole, ending with the frame that revealed it.
    expect(seen.slice(2)).toEqual(more.slice(10).map((f) => f.id));
  });

  it('starts again from a frame with a gap when nobody is subscribed (nothing depends on the hole)', async () => {
    const { feeds, append, ids, topics, reads } = setup();
    await feeds.acquire('acme');
    const frames = await append('acme', 3);
    topics.subscribers = 0;
    feeds.deliver(frames[0]!);
    feeds.deliver(frames[2]!);
    expect(reads.count).toBe(0);
    expect(ids()).toEqual([frames[0]!.id, frames[2]!.id]);
    // Its buffer covers only from the frame's prev on: a catch-up from before reads history.
    expect(feeds.feed('acme')!.framesAfter(frames[0]!.id).covered).toBe(false);
    expect(feeds.feed('acme')!.framesAfter(frames[1]!.id).covered).toBe(true);
  });

  it('syncs every bound feed up to the end of history after a reconnection, page by page, from 0-0 too', async () => {
    const { feeds, append, ids } = setup();
    await feeds.acquire('acme');
    await feeds.acquire('globex');
    feeds.feed('acme')!.startAt('0-0');
    const first = await append('globex', 1);
    feeds.deliver(first[0]!);
    const lost = [...await append('acme', 5), ...await append('globex', 4)];
    expect(feeds.syncAll()).toBe(2);
    await settle();
    expect(ids()).toEqual(lost.filter((f) => f.organizationId === 'acme').map((f) => f.id));
    expect(ids('globex')).toEqual([first[0]!.id, ...lost.filter((f) => f.organizationId === 'globex').map((f) => f.id)]);
  });

  it('the periodic check syncs a feed still behind the history of the previous check', async () => {
    const { feeds, append, ids } = setup();
    await feeds.acquire('acme');
    const frames = await append('acme', 3);
    feeds.deliver(frames[0]!);
    // frames 1 and 2 were lost with nothing after them to reveal it.
    await feeds.check();
    expect(ids()).toEqual([frames[0]!.id]);
    await feeds.check();
    await settle();
    expect(ids()).toEqual(frames.map((f) => f.id));
  });

  it('fires a position watcher exactly after the frame at the position, before the next one', async () => {
    const { feeds, append, published } = setup();
    await feeds.acquire('acme');
    const [a, b, c] = await append('acme', 3);
    feeds.deliver(a!);
    feeds.feed('acme')!.whenDelivered(b!.id, () => published.push(['o/acme', 'REMOVED']));
    // b is lost on the way: the watcher's sync reads it, fires, and c comes after.
    await settle();
    feeds.deliver(c!);
    await settle();
    expect(published.map(([, t]) => (t === 'REMOVED' ? t : (JSON.parse(t) as { id: string }).id))).toEqual([a!.id, b!.id, 'REMOVED', c!.id]);
  });

  it('keeps recent frames for catch-up and says when the buffer no longer covers a point', async () => {
    const { feeds, append, tick } = setup({ bufferSize: 3 });
    await feeds.acquire('acme');
    const frames = await append('acme', 4);
    for (const frame of frames.slice(0, 3)) feeds.deliver(frame);
    const feed = feeds.feed('acme')!;
    expect(feed.framesAfter(frames[0]!.id)).toEqual({ frames: [frames[1], frames[2]], covered: true });
    feeds.deliver(frames[3]!);
    expect(feed.framesAfter('0-0').covered).toBe(false);
    expect(feed.framesAfter(frames[0]!.id).covered).toBe(true);
    tick(2_000);
    feeds.sweep();
    expect(feed.framesAfter(frames[2]!.id)).toEqual({ frames: [], covered: false });
    expect(feed.framesAfter(frames[3]!.id)).toEqual({ frames: [], covered: true });
  });

  it('advances to a newcomer\'s start: subscribers get the frames up to it, late older frames are dropped', async () => {
    const { feeds, append, ids } = setup();
    await feeds.acquire('acme');
    const frames = await append('acme', 4);
    feeds.deliver(frames[0]!);
    feeds.feed('acme')!.advance(frames.slice(1), frames[2]!.id);
    expect(feeds.lastDelivered('acme')).toBe(frames[2]!.id);
    expect(ids()).toEqual(frames.slice(0, 3).map((f) => f.id));
    feeds.deliver(frames[2]!);
    feeds.deliver(frames[3]!);
    expect(ids()).toEqual(frames.map((f) => f.id));
  });

  it('forgets the position of an unbound feed', async () => {
    vi.useFakeTimers();
    try {
      const { feeds, append } = setup();
      await feeds.acquire('acme');
      feeds.deliver((await append('acme', 1))[0]!);
      feeds.release('acme');
      await vi.advanceTimersByTimeAsync(100);
      expect(feeds.lastDelivered('acme')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('wakes long polls on the next frame of any of their organizations', async () => {
    const { feeds, append } = setup();
    await feeds.acquire('globex');
    let woke = false;
    const waiting = feeds.waitForAny(['acme', 'globex'], 10_000).then(() => {
      woke = true;
    });
    await Promise.resolve();
    expect(woke).toBe(false);
    feeds.deliver((await append('globex', 1))[0]!);
    await waiting;
    expect(woke).toBe(true);
  });

  it('ends a wait when its signal aborts (the poller went away), and leaves no waiter behind', async () => {
    const { feeds } = setup();
    const controller = new AbortController();
    const started = Date.now();
    const waiting = feeds.waitForAny(['acme'], 10_000, controller.signal);
    controller.abort();
    await waiting;
    expect(Date.now() - started).toBeLessThan(5_000);
    await feeds.waitForAny(['acme'], 10_000, controller.signal); // already aborted: at once
    feeds.close(); // would wake a leftover waiter; there is none to wake twice
  });
});
