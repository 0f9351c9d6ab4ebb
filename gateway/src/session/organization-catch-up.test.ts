import { describe, expect, it } from 'vitest';
import { frameOfEntry } from '../events/history-frame.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import type { HistoryStore } from '../history/history-store.js';
import { createMemoryHistoryStore } from '../history/memory-history-store.js';
import { resyncFrameJson } from '../protocol/frames.js';
import { OrganizationFeed, type FeedContext } from '../routing/organization-feed.js';
import { OrganizationCatchUp, type CatchUpOutcome, type CatchUpTarget } from './organization-catch-up.js';
import { feedContextForTests } from '../routing/feed-context.fixture.js';

const ORG = 'acme';
/** What the fake socket counts per frame still in its buffer. */
const FRAME_BYTES = 100;

/** History that can be made to fail or to hold its reads (a slow Redis). */
function gated(history: HistoryStore) {
  /** `failReads`: the numbers of the reads that fail (1 is the first). */
  const state = { reads: 0, failNext: 0, failReads: new Set<number>(), held: undefined as Promise<void> | undefined };
  const readable: Pick<HistoryStore, 'readAfter'> = {
    readAfter: async (org, after, limit) => {
      state.reads += 1;
      if (state.held !== undefined) await state.held;
      if (state.failNext > 0 || state.failReads.has(state.reads)) {
        state.failNext = Math.max(0, state.failNext - 1);
        throw new Error('injected: Redis is away');
      }
      return history.readAfter(org, after, limit);
    },
  };
  return { state, readable };
}

/**
 * A real feed over a real in-memory history (fixed clock: ids 1000-0, 1000-1, ...), a socket that
 * buffers FRAME_BYTES per frame until it drains, and a log of what the catch-up did, in order.
 */
function setup(options: { bufferSize?: number; maxLength?: number; budgetFrames?: number; retries?: number } = {}) {
  const clock = { ms: 1_000 };
  const history = createMemoryHistoryStore({ maxLength: options.maxLength ?? 1_000, maxAgeMs: 3_600_000, dedupeTtlSeconds: 60, now: () => clock.ms });
  const catchUpHistory = gated(history);
  const feedHistory = gated(history);
  const subscribers = { count: 0 };
  const published: string[] = [];
  const context: FeedContext = feedContextForTests({
    history: feedHistory.readable,
    publish: (_org, text) => {
      published.push(text);
      return subscribers.count;
    },
    subscribers: () => subscribers.count,
    bufferSize: options.bufferSize,
  });
  const feed = new OrganizationFeed(ORG, context);
  const bound = { feed: feed as OrganizationFeed | undefined };

  const log: string[] = [];
  const socket = { buffered: 0, refuseAfter: Infinity, throwOnSubscribe: false, sent: [] as string[] };
  const faults: unknown[] = [];
  const target: CatchUpTarget = {
    send: (text) => {
      if (socket.sent.length >= socket.refuseAfter) return false;
      socket.sent.push(text);
      socket.buffered += FRAME_BYTES;
      log.push(`send ${idOf(text)}`);
      return true;
    },
    bufferedAmount: () => socket.buffered,
    subscribe: (org) => {
      if (socket.throwOnSubscribe) throw new Error('injected: the socket is closed');
      log.push(`subscribe ${org}`);
    },
  };

  let keys = 0;
  const append = async (n: number): Promise<RoutedFrame[]> => {
    const frames: RoutedFrame[] = [];
    for (let i = 0; i < n; i += 1) {
      keys += 1;
      const record = { eventType: 'task.event.created', dataJson: JSON.stringify({ n: keys }), timestampMs: 0 };
      const { id, prev } = await history.append(ORG, `k${keys}`, record);
      frames.push(frameOfEntry(ORG, { id, prev, ...record }));
    }
    return frames;
  };

  const start = (position: string, replay: readonly RoutedFrame[] = []) => {
    let resolveOutcome!: (outcome: CatchUpOutcome) => void;
    const outcome = new Promise<CatchUpOutcome>((resolve) => (resolveOutcome = resolve));
    const outcomes: CatchUpOutcome[] = [];
    const catchUp = new OrganizationCatchUp(ORG, position, replay, target, {
      history: catchUpHistory.readable,
      feed: () => bound.feed,
      subscribers: () => subscribers.count,
      pageSize: 100,
      budgetBytes: (options.budgetFrames ?? 1_000) * FRAME_BYTES - 1,
      retryDelayMs: (attempt) => (attempt <= (options.retries ?? 2) ? 1 : undefined),
      fault: (error) => void faults.push(error),
    }, (result) => {
      outcomes.push(result);
      log.push(`finished ${result}`);
      resolveOutcome(result);
    });
    return { catchUp, outcome, outcomes };
  };

  const drain = () => {
    socket.buffered = 0;
  };
  return { clock, history, feed, bound, subscribers, published, log, socket, faults, append, start, drain, reads: catchUpHistory.state, feedReads: feedHistory.state };
}

function idOf(text: string): string {
  const frame = JSON.parse(text) as { event_type: string; id?: string };
  return frame.id ?? frame.event_type;
}

const ids = (frames: readonly RoutedFrame[]) => frames.map((frame) => frame.id);
const sends = (frames: readonly RoutedFrame[]) => frames.map((frame) => `send ${frame.id}`);
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('OrganizationCatchUp', () => {
  it('sends the replay under the byte budget, goes on when the socket drains, and goes live in the same step', async () => {
    const { feed, append, start, log, drain, reads, socket } = setup({ budgetFrames: 3 });
    const frames = await append(5);
    for (const frame of frames) feed.deliver(frame);
    const { catchUp, outcomes } = start('0-0', frames);

    catchUp.pump();
    expect(log).toEqual(sends(frames.slice(0, 3)));
    catchUp.pump(); // not drained yet: nothing more
    expect(log).toHaveLength(3);

    drain();
    catchUp.pump();
    // The last frame is what the feed delivered: subscribed right after it, before pump returned.
    expect(log).toEqual([...sends(frames), `subscribe ${ORG}`, 'finished live']);
    expect(outcomes).toEqual(['live']);
    expect(catchUp.position).toBe(frames[4]!.id);
    expect(reads.reads).toBe(0);
    expect(socket.sent).toEqual(frames.map((frame) => frame.frame));
  });

  it('skips replayed frames the connection already has', async () => {
    const { feed, append, start, log } = setup();
    const frames = await append(3);
    for (const frame of frames) feed.deliver(frame);
    const { catchUp } = start(frames[1]!.id, frames);
    catchUp.pump();
    expect(log).toEqual([`send ${frames[2]!.id}`, `subscribe ${ORG}`, 'finished live']);
  });

  it('takes the frames from the feed\'s buffer when the position is behind and still covered', async () => {
    const { feed, append, start, log, reads } = setup();
    const frames = await append(5);
    for (const frame of frames) feed.deliver(frame);
    const { catchUp } = start(frames[1]!.id);
    catchUp.pump();
    expect(log).toEqual([...sends(frames.slice(2)), `subscribe ${ORG}`, 'finished live']);
    expect(reads.reads).toBe(0);
  });

  it('reads history when the feed\'s buffer no longer covers the position', async () => {
    const { feed, append, start, log, reads } = setup({ bufferSize: 2 });
    const frames = await append(5);
    for (const frame of frames) feed.deliver(frame);
    expect(feed.framesAfter(frames[0]!.id).covered).toBe(false);
    const { catchUp, outcome } = start(frames[0]!.id);
    catchUp.pump();
    expect(await outcome).toBe('live');
    expect(log).toEqual([...sends(frames.slice(1)), `subscribe ${ORG}`, 'finished live']);
    expect(reads.reads).toBe(1);
  });

  it('moves a feed with subscribers up to a connection that is ahead of it (advance), then goes live', async () => {
    const { feed, append, start, log, published, subscribers } = setup();
    const frames = await append(5);
    feed.deliver(frames[0]!);
    feed.deliver(frames[1]!);
    subscribers.count = 1;
    // The connection's replay was read ahead of the routed path: it reaches frames[3].
    const { catchUp, outcome } = start('0-0', frames.slice(0, 4));
    catchUp.pump();
    expect(await outcome).toBe('live');
    expect(log).toEqual([...sends(frames.slice(0, 4)), `subscribe ${ORG}`, 'finished live']);
    // The feed's subscribers got what it lacked up to the position, and nothing beyond it yet.
    expect(published.map(idOf)).toEqual(ids(frames.slice(0, 4)));
    expect(feed.lastId).toBe(frames[3]!.id);
    // Then the next routed frame follows on without a repair.
    feed.deliver(frames[4]!);
    expect(published.map(idOf)).toEqual(ids(frames));
  });

  it('starts a feed without subscribers at a connection that is ahead of it, reading nothing', async () => {
    const { feed, append, start, log, published, reads, feedReads } = setup();
    const frames = await append(4);
    feed.deliver(frames[0]!);
    const { catchUp, outcomes } = start('0-0', frames.slice(0, 3));
    catchUp.pump();
    expect(outcomes).toEqual(['live']);
    expect(log).toEqual([...sends(frames.slice(0, 3)), `subscribe ${ORG}`, 'finished live']);
    expect(feed.lastId).toBe(frames[2]!.id);
    expect(published.map(idOf)).toEqual([frames[0]!.id]);
    expect(reads.reads + feedReads.reads).toBe(0);
  });

  it('reads history to its end before it starts a feed that has no position yet', async () => {
    const { feed, append, start, log, reads } = setup();
    const frames = await append(4);
    const { catchUp, outcome } = start(frames[0]!.id);
    catchUp.pump();
    expect(await outcome).toBe('live');
    expect(log).toEqual([...sends(frames.slice(1)), `subscribe ${ORG}`, 'finished live']);
    expect(feed.lastId).toBe(frames[3]!.id);
    expect(reads.reads).toBe(2); // the page, then the empty one that proves the end
  });

  it('waits for a repairing feed before it compares positions again', async () => {
    const { feed, append, start, log, subscribers, feedReads } = setup();
    const frames = await append(3);
    subscribers.count = 1;
    feed.deliver(frames[0]!);
    let release!: () => void;
    feedReads.held = new Promise<void>((resolve) => (release = resolve));
    feed.deliver(frames[2]!); // frames[1] was lost on the way: the feed repairs from history
    expect(feed.isRepairing).toBe(true);

    const { catchUp, outcome, outcomes } = start('0-0', frames);
    catchUp.pump();
    await settle();
    expect(log).toEqual(sends(frames));
    expect(outcomes).toEqual([]);

    feedReads.held = undefined;
    release();
    expect(await outcome).toBe('live');
    expect(feed.lastId).toBe(frames[2]!.id);
    expect(log).toEqual([...sends(frames), `subscribe ${ORG}`, 'finished live']);
  });

  it('stops at a removal\'s position: outcome stopped, and nothing after it is sent', async () => {
    const { feed, append, start, log, drain } = setup({ budgetFrames: 2 });
    const frames = await append(5);
    for (const frame of frames) feed.deliver(frame);
    const { catchUp, outcomes } = start('0-0', frames);
    catchUp.pump();
    expect(log).toEqual(sends(frames.slice(0, 2)));

    catchUp.stopAfter(frames[2]!.id);
    expect(outcomes).toEqual([]); // the socket is still full
    drain();
    catchUp.pump();
    expect(log).toEqual([...sends(frames.slice(0, 3)), 'finished stopped']);
    expect(catchUp.position).toBe(frames[2]!.id);

    drain();
    catchUp.pump();
    catchUp.stopAfter(frames[4]!.id);
    expect(log).toEqual([...sends(frames.slice(0, 3)), 'finished stopped']);
  });

  it('sends nothing past a removal\'s position that lies between two frames', async () => {
    const { feed, append, start, log, clock } = setup();
    const first = await append(2); // 1000-0, 1000-1
    clock.ms = 2_000;
    const later = await append(2); // 2000-0, 2000-1
    const frames = [...first, ...later];
    for (const frame of frames) feed.deliver(frame);
    const { catchUp, outcome } = start('0-0', frames);
    catchUp.stopAfter('1500-0');
    // History confirms that nothing up to the position is left; the catch-up stops where it is.
    expect(await outcome).toBe('stopped');
    expect(log).toEqual([...sends(first), 'finished stopped']);
    expect(catchUp.position).toBe(first[1]!.id);
  });

  it('reads history up to a removal\'s position when it lies beyond the queue, and never goes live', async () => {
    const { feed, append, start, log } = setup({ bufferSize: 1 });
    const frames = await append(5);
    for (const frame of frames) feed.deliver(frame);
    const { catchUp, outcome } = start(frames[0]!.id);
    catchUp.stopAfter(frames[3]!.id);
    expect(await outcome).toBe('stopped');
    expect(log).toEqual([...sends(frames.slice(1, 4)), 'finished stopped']);
    expect(catchUp.position).toBe(frames[3]!.id);
  });

  it('sends organization.resync first when history no longer reaches back, then what it still holds', async () => {
    const { feed, append, start, socket, log } = setup({ maxLength: 3 });
    const frames = await append(6);
    feed.deliver(frames[5]!); // the feed covers only from frames[4] on
    const { catchUp, outcome } = start(frames[0]!.id);
    catchUp.pump();
    expect(await outcome).toBe('live');
    expect(socket.sent[0]).toBe(resyncFrameJson(ORG, 'history_truncated'));
    expect(log).toEqual(['send organization.resync', ...sends(frames.slice(3)), `subscribe ${ORG}`, 'finished live']);
  });

  it('ends with failed when a send fails, and sends nothing more', async () => {
    const { feed, append, start, socket, log } = setup();
    const frames = await append(3);
    for (const frame of frames) feed.deliver(frame);
    socket.refuseAfter = 1;
    const { catchUp, outcomes } = start('0-0', frames);
    catchUp.pump();
    expect(outcomes).toEqual(['failed']);
    expect(catchUp.position).toBe(frames[0]!.id);
    socket.refuseAfter = Infinity;
    catchUp.pump();
    expect(log).toEqual([`send ${frames[0]!.id}`, 'finished failed']);
  });

  it('retries a failed history read, and ends with failed when reads keep failing', async () => {
    const first = setup({ bufferSize: 1, retries: 2 });
    const frames = await first.append(3);
    for (const frame of frames) first.feed.deliver(frame);
    first.reads.failNext = 2;
    const recovering = first.start('0-0');
    recovering.catchUp.pump();
    expect(await recovering.outcome).toBe('live');
    expect(first.reads.reads).toBe(3);
    expect(first.log).toEqual([...sends(frames), `subscribe ${ORG}`, 'finished live']);

    const second = setup({ bufferSize: 1, retries: 2 });
    for (const frame of await second.append(3)) second.feed.deliver(frame);
    second.reads.failNext = Infinity;
    const failing = second.start('0-0');
    failing.catchUp.pump();
    expect(await failing.outcome).toBe('failed');
    expect(second.reads.reads).toBe(3); // the first read and two retries
    expect(second.log).toEqual(['finished failed']);
  });

  it('counts read failures afresh after a read succeeded', async () => {
    const { append, start, log, reads } = setup({ retries: 2 });
    const frames = await append(2);
    // No feed position: a page, then the empty page that proves the end. Two failures before
    // the first, one before the second: each within the two retries allowed.
    for (const n of [1, 2, 4]) reads.failReads.add(n);
    const { catchUp, outcome } = start('0-0');
    catchUp.pump();
    expect(await outcome).toBe('live');
    expect(reads.reads).toBe(5);
    expect(log).toEqual([...sends(frames), `subscribe ${ORG}`, 'finished live']);
  });

  it('starts no second read while waiting to retry a failed one (a drain or a stop meanwhile), and sends nothing twice', async () => {
    const { feed, append, start, reads, log, drain } = setup({ bufferSize: 1, retries: 3 });
    const frames = await append(3);
    for (const frame of frames) feed.deliver(frame);
    reads.failNext = 1;
    const { catchUp, outcome } = start('0-0');
    catchUp.pump();
    await Promise.resolve();
    await Promise.resolve();
    drain();
    catchUp.pump(); // the socket drained while the retry waits
    catchUp.pump();
    expect(reads.reads).toBe(1);
    expect(await outcome).toBe('live');
    expect(reads.reads).toBe(2);
    expect(log).toEqual([...sends(frames), `subscribe ${ORG}`, 'finished live']);
  });

  it('tells a connection to resync once when history no longer reaches its position, then goes on from what history holds', async () => {
    const { feed, append, start, socket, history } = setup({ bufferSize: 1, maxLength: 1 });
    const frames = await append(3); // history keeps only the last; the feed's buffer too
    for (const frame of frames) feed.deliver(frame);
    expect((await history.readAfter(ORG, frames[1]!.id, 10)).entries).toHaveLength(1);
    const { catchUp, outcome } = start(frames[0]!.id);
    catchUp.pump();
    expect(await outcome).toBe('live');
    const resyncs = socket.sent.filter((text) => text.includes('organization.resync'));
    expect(resyncs).toHaveLength(1);
    expect(catchUp.position).toBe(frames[2]!.id);
  });

  it('ends with failed when the organization is no longer bound on this pod', async () => {
    const { bound, start } = setup();
    bound.feed = undefined;
    const { catchUp, outcomes } = start('0-0');
    catchUp.pump();
    expect(outcomes).toEqual(['failed']);
  });

  it('cancel: a closed connection\'s catch-up reads, sends and subscribes nothing more, even when a read returns later', async () => {
    const { feed, append, start, log, reads, drain } = setup({ bufferSize: 1, budgetFrames: 1 });
    const frames = await append(3);
    for (const frame of frames) feed.deliver(frame);
    let release!: () => void;
    reads.held = new Promise<void>((resolve) => (release = resolve));
    const { catchUp, outcomes } = start('0-0');
    catchUp.pump();
    expect(reads.reads).toBe(1);
    catchUp.cancel();
    release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    drain();
    catchUp.pump();
    expect(log).toEqual([]);
    expect(outcomes).toEqual([]);
  });

  it('an exception in a step after a read is reported as a fault and ends the catch-up with failed, not the process', async () => {
    const { feed, append, start, socket, faults } = setup({ bufferSize: 1 });
    const frames = await append(3);
    for (const frame of frames) feed.deliver(frame);
    socket.throwOnSubscribe = true;
    const { catchUp, outcome } = start('0-0');
    catchUp.pump();
    expect(await outcome).toBe('failed');
    expect(faults).toHaveLength(1);
    expect(String(faults[0])).toContain('injected: the socket is closed');
  });
});
