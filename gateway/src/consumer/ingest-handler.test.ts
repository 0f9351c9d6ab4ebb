import type { Channel, ConsumeMessage } from 'amqplib';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { compareEventIds } from '../history/event-id.js';
import { createMemoryHistoryStore } from '../history/memory-history-store.js';
import { createMetrics } from '../metrics/metrics.js';
import type { ClusterSink, RoutedFrame } from './cluster-source.js';
import { createIngestHandler } from './ingest-handler.js';

/**
 * How an injected failure behaves, once, for one dedupe key:
 * - `lost-reply`: the append happens, its caller hears of a failure later (a command timeout);
 * - `refused`: the append does not happen, its caller hears of it later (an error reply).
 */
type Failure = 'lost-reply' | 'refused';

const FAILURE_DELAY_MS = 30;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The ingest handler over the real in-memory history, with a fake channel and a recording router. */
function pipeline(failures: Record<string, Failure>, window = 8) {
  const history = createMemoryHistoryStore({ maxLength: 10_000, maxAgeMs: 3_600_000, dedupeTtlSeconds: 3_600 });
  const acked: string[] = [];
  const routed: RoutedFrame[] = [];
  const injected = new Map(Object.entries(failures));
  const state = { current: true, stopping: false };
  const channel = {
    ack: (message: ConsumeMessage) => acked.push(message.properties.messageId as string),
    nack: () => {
      throw new Error('nothing here should be nacked');
    },
  } as unknown as Channel;
  const sink: ClusterSink = {
    async sequenceTask(event, dedupeKey, after) {
      const failure = injected.get(dedupeKey);
      injected.delete(dedupeKey);
      if (failure === 'refused') {
        await delay(FAILURE_DELAY_MS);
        throw new Error('injected: the append was refused');
      }
      const { id } = await history.append(event.organizationId, dedupeKey, { eventType: event.eventType, dataJson: '{}', timestampMs: 0 }, after);
      if (failure === 'lost-reply') {
        await delay(FAILURE_DELAY_MS);
        throw new Error('injected: the reply was lost after the append');
      }
      return { organizationId: event.organizationId, id, frame: dedupeKey, publishedAtMs: undefined };
    },
    async routeTask(frame) {
      routed.push(frame);
    },
    onIngestMembership: async () => undefined,
    onRoutedFrame: () => undefined,
  };
  const handler = createIngestHandler({
    retryDelayMs: 5,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics({ collectDefaults: false }),
    now: Date.now,
    sleep: async (ms) => {
      await delay(ms);
      return !state.stopping;
    },
    window,
  });
  const message = (key: string, organizationId: string): ConsumeMessage => ({
    content: Buffer.from(JSON.stringify({ organization_id: organizationId, data: { key } })),
    fields: { routingKey: 'task.event.created', deliveryTag: 1, redelivered: false, exchange: 'tasks', consumerTag: 'c' },
    properties: { messageId: key, headers: {} },
  }) as unknown as ConsumeMessage;

  return {
    history,
    acked,
    routed,
    state,
    async deliver(keys: ReadonlyArray<readonly [string, string]>): Promise<void> {
      for (const [key, organizationId] of keys) await handler.handle(channel, message(key, organizationId), sink, () => state.current);
    },
    drained: () => handler.drained(),
    async historyKeys(organizationId: string): Promise<string[]> {
      const read = await history.readAfter(organizationId, '0-0', 1_000);
      const ids = read.entries.map((e) => e.id);
      return ids.map((id) => routed.find((f) => f.id === id && f.organizationId === organizationId)?.frame ?? `unrouted ${id}`);
    },
  };
}

const interleaved = (n: number): Array<[string, string]> => Array.from({ length: n }, (_, i) => [`m${i}`, i % 2 === 0 ? 'acme' : 'globex']);

/** Frames of each organization reach the router in increasing id order (what pods require). */
function expectIncreasingIds(routed: readonly RoutedFrame[]): void {
  const last = new Map<string, string>();
  for (const frame of routed) {
    const previous = last.get(frame.organizationId);
    if (previous !== undefined) expect(compareEventIds(frame.id, previous), `${frame.frame} after ${previous}`).toBeGreaterThan(0);
    last.set(frame.organizationId, frame.id);
  }
}

describe('ingest handler ordering', () => {
  it('routes every event once, in delivery order, with a full window', async () => {
    const p = pipeline({});
    await p.deliver(interleaved(40));
    await p.drained();
    expect(p.routed.map((f) => f.frame)).toEqual(interleaved(40).map(([k]) => k));
    expectIncreasingIds(p.routed);
    expect(p.acked).toHaveLength(40);
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
});
