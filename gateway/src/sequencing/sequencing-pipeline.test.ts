import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { IngestMessage, IngestRun } from '../events/event-transport.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import { compareEventIds } from '../history/event-id.js';
import { createMemoryHistoryStore } from '../history/memory-history-store.js';
import { createMetrics } from '../metrics/metrics.js';
import { createSequencingPipeline, type SequencingPort } from './sequencing-pipeline.js';

/**
 * How an injected failure behaves, once, for one dedupe key:
 * - `lost-reply`: the append happens, its caller hears of a failure later (a command timeout);
 * - `refused`: the append does not happen, its caller hears of it later (an error reply);
 * - `hang`: the append does not happen and its caller hears nothing until the test says so;
 * - `gone`: a duplicate whose entry history no longer holds: nothing to route.
 */
type Failure = 'lost-reply' | 'refused' | 'hang' | 'gone';

const FAILURE_DELAY_MS = 30;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pipeline over the real in-memory history, with a recording router; runs are opened by the test. */
function pipeline(failures: Record<string, Failure>, window = 8) {
  const history = createMemoryHistoryStore({ maxLength: 10_000, maxAgeMs: 3_600_000, dedupeTtlSeconds: 3_600 });
  const acked: string[] = [];
  const routed: RoutedFrame[] = [];
  const injected = new Map(Object.entries(failures));
  const hung: Array<() => void> = [];
  const sequencer: SequencingPort = {
    runStarted: () => undefined,
    async sequence(event, dedupeKey, options) {
      const failure = injected.get(dedupeKey);
      injected.delete(dedupeKey);
      if (failure === 'refused') {
        await delay(FAILURE_DELAY_MS);
        throw new Error('injected: the append was refused');
      }
      if (failure === 'gone') {
        await delay(FAILURE_DELAY_MS);
        return undefined;
      }
      if (failure === 'hang') {
        await new Promise<void>((resolve) => hung.push(resolve));
        throw new Error('injected: the append hung, then failed');
      }
      const { id, prev } = await history.append(event.organizationId, dedupeKey, { eventType: event.eventType, dataJson: '{}', timestampMs: 0 }, options);
      if (failure === 'lost-reply') {
        await delay(FAILURE_DELAY_MS);
        throw new Error('injected: the reply was lost after the append');
      }
      return { organizationId: event.organizationId, id, prev, frame: dedupeKey, publishedAtMs: undefined };
    },
    membershipChange: async () => undefined,
  };
  const consumer = createSequencingPipeline(sequencer, { publishRouted: async (frame) => void routed.push(frame) }, {
    retryDelayMs: 5,
    window,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics({ collectDefaults: false }),
    now: Date.now,
  });
  const state = { current: true, stopping: false };
  const open = (live = state): IngestRun => consumer.open({
    isCurrent: () => live.current,
    sleep: async (ms) => {
      await delay(ms);
      return !live.stopping;
    },
  });
  const message = (key: string, organizationId: string, redelivered = false): IngestMessage => ({
    body: { kind: 'task', event: { eventType: 'task.event.created', organizationId, dataJson: JSON.stringify({ key }), publishedAtMs: undefined, messageId: key } },
    dedupeKey: key,
    dedupe: redelivered ? 'check' : 'check',
    receivedAtMs: Date.now(),
    messageId: key,
    ack: () => void acked.push(key),
  });
  const run = open();

  return {
    history,
    acked,
    routed,
    state,
    hung,
    open,
    message,
    async deliver(keys: ReadonlyArray<readonly [string, string]>, into: IngestRun = run): Promise<void> {
      for (const [key, organizationId] of keys) await into.handle(message(key, organizationId));
    },
    drained: () => run.drained(),
    async historyKeys(organizationId: string): Promise<string[]> {
      const read = await history.readAfter(organizationId, '0-0', 1_000);
      const ids = read.entries.map((e) => e.id);
      return ids.map((id) => routed.find((f) => f.id === id && f.organizationId === organizationId)?.frame ?? `unrouted ${id}`);
    },
  };
}

const interleaved = (n: number): Array<[string, string]> => Array.from({ length: n }, (_, i) => [`m${i}`, i % 2 === 0 ? 'acme' : 'globex']);

/** Frames of each organization reach the router in increasing id order, each naming the one before (what pods check). */
function expectIncreasingIds(routed: readonly RoutedFrame[]): void {
  const last = new Map<string, string>();
  for (const frame of routed) {
    const previous = last.get(frame.organizationId);
    if (previous !== undefined) {
      expect(compareEventIds(frame.id, previous), `${frame.frame} after ${previous}`).toBeGreaterThan(0);
      expect(frame.prev, `${frame.frame}'s prev`).toBe(previous);
    } else {
      expect(frame.prev).toBe('0-0');
    }
    last.set(frame.organizationId, frame.id);
  }
}

describe('sequencing pipeline ordering', () => {
  it('routes every event once, in delivery order, with a full window', async () => {
    const p = pipeline({});
    await p.deliver(interleaved(40));
    await p.drained();
    expect(p.routed.map((f) => f.frame)).toEqual(interleaved(40).map(([k]) => k));
    expectIncreasingIds(p.routed);
    expect(p.acked).toHaveLength(40);
  });

  it('acks a duplicate with nothing to route in its place: what follows it is routed after it, in order', async () => {
    const p = pipeline({ m2: 'gone' });
    await p.deliver(interleaved(6));
    await p.drained();
    expect(p.routed.map((f) => f.frame)).toEqual(['m0', 'm1', 'm3', 'm4', 'm5']);
    expect(p.acked).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('holds later events of the organization while an append whose reply was lost is retried', async () => {
    // Routed as soon as appended, m2 and m4 would reach pods before m0's retry, which then carries an
    // older id, and pods drop it as already delivered: lost for every member.
    const p = pipeline({ m0: 'lost-reply' });
    await p.deliver(interleaved(6));
    await p.drained();
    expect(p.routed.map((f) => f.frame)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(await p.historyKeys('acme')).toEqual(['m0', 'm2', 'm4']);
    expectIncreasingIds(p.routed);
    expect([...p.acked].sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('never appends an event ahead of an earlier one of its organization whose append failed', async () => {
    const p = pipeline({ m0: 'refused' });
    await p.deliver(interleaved(6));
    await p.drained();
    expect(await p.historyKeys('acme')).toEqual(['m0', 'm2', 'm4']);
    expect(p.routed.map((f) => f.frame)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expectIncreasingIds(p.routed);
    expect(p.acked).toHaveLength(6);
  });

  it('keeps order when several failures of both kinds come in at once', async () => {
    const p = pipeline({ m0: 'refused', m2: 'lost-reply', m3: 'refused', m5: 'lost-reply' });
    await p.deliver(interleaved(10));
    await p.drained();
    expect(await p.historyKeys('acme')).toEqual(['m0', 'm2', 'm4', 'm6', 'm8']);
    expect(await p.historyKeys('globex')).toEqual(['m1', 'm3', 'm5', 'm7', 'm9']);
    expect(p.routed.map((f) => f.frame)).toEqual(interleaved(10).map(([k]) => k));
    expectIncreasingIds(p.routed);
    expect(p.acked).toHaveLength(10);
  });

  it('gives up the events after the failing one when the connection goes', async () => {
    const p = pipeline({ m2: 'lost-reply' });
    await p.deliver(interleaved(6));
    await delay(FAILURE_DELAY_MS / 3); // m0 and m1 are through; m2 has not heard of its failure yet
    p.state.current = false;
    await p.drained();
    // m2 to m5 come back unacked, in order.
    expect(p.routed.map((f) => f.frame)).toEqual(['m0', 'm1']);
    expect([...p.acked].sort()).toEqual(['m0', 'm1']);
  });

  it('gives up what is still failing when the source stops', async () => {
    const p = pipeline({ m0: 'refused' });
    await p.deliver(interleaved(4));
    p.state.stopping = true;
    await p.drained();
    // Nothing behind the failing m0 was routed (m1 and m3 are in history and come back as duplicates).
    expect(p.routed).toEqual([]);
    expect(p.acked).toEqual([]);
    expect(await p.historyKeys('acme')).toEqual([]);
  });

  it('starts a clean chain on a new connection: a redelivery does not wait on a task of the old one', async () => {
    // m0's append hangs on the first connection; the connection goes and the broker redelivers m0..m3.
    const p = pipeline({ m0: 'hang' });
    const first = { current: true, stopping: false };
    const old = p.open(first);
    await p.deliver(interleaved(4), old);
    await delay(10);
    first.current = false;
    const fresh = p.open();
    await p.deliver(interleaved(4), fresh);
    await fresh.drained();
    // Linked to the old connection's m0, m2 would wait for it, and m0..m3 would stay unacked until the
    // consumer timeout: ingest stopped for the whole cluster.
    expect(p.routed.map((f) => f.frame)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect([...p.acked].sort()).toEqual(['m0', 'm1', 'm2', 'm3']);
    expectIncreasingIds(p.routed);
    for (const release of p.hung) release();
    await old.drained();
    expect(p.routed).toHaveLength(4);
  });

  it('does not make a redelivery follow an append of the old connection that never ran', async () => {
    // m0 never reaches history on the first connection (it hangs); m2 is in flight behind it. On the
    // new connection m2 must append on its own, not after m0's old append (which would never come).
    const p = pipeline({ m0: 'hang' });
    const first = { current: true, stopping: false };
    const old = p.open(first);
    await p.deliver([['m0', 'acme'], ['m2', 'acme']], old);
    await delay(10);
    first.current = false;
    const fresh = p.open();
    await p.deliver([['m2', 'acme'], ['m4', 'acme']], fresh);
    await fresh.drained();
    expect(p.routed.map((f) => f.frame)).toEqual(['m2', 'm4']);
    expect(await p.historyKeys('acme')).toEqual(['m2', 'm4']);
    for (const release of p.hung) release();
    await old.drained();
  });

  it('appends a first delivery without a message id even when an identical earlier one is in history', async () => {
    const p = pipeline({});
    const run = p.open();
    const same = (dedupe: 'check' | 'record'): IngestMessage => ({ ...p.message('body-hash', 'acme'), dedupe });
    await run.handle(same('record'));
    await run.handle(same('record'));
    await run.handle(same('check'));
    await run.drained();
    // Two publications of the same body are two events; the redelivery of the second is its duplicate.
    expect((await p.history.readAfter('acme', '0-0', 10)).entries).toHaveLength(2);
    expect(p.routed).toHaveLength(3);
    expect(p.routed[2]?.id).toBe(p.routed[1]?.id);
  });
});

