import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLocalCommandBus, type ClusterCommand, type CommandBus } from '../cluster/command-bus.js';
import type { InboundMembershipChange, InboundTaskEvent } from '../events/inbound-event.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import { StaleRunError } from '../history/history-order-error.js';
import { createMemoryHistoryStore } from '../history/memory-history-store.js';
import { createMemoryMembershipStore } from '../membership/memory-membership-store.js';
import { createMetrics, type GatewayMetrics } from '../metrics/metrics.js';
import { Sequencer } from './sequencer.js';

const NOW_MS = 1_700_000_000_000;

async function setup() {
  const history = createMemoryHistoryStore({ maxLength: 100, maxAgeMs: 3_600_000, dedupeTtlSeconds: 60, now: () => NOW_MS });
  const membership = createMemoryMembershipStore({ ttlSeconds: 3_600, now: () => NOW_MS });
  const commands: ClusterCommand[] = [];
  const bus = createLocalCommandBus();
  await bus.start({ command: (command) => void commands.push(command), missed: () => undefined });
  const metrics = createMetrics({ collectDefaults: false });
  const sequencer = new Sequencer(history, membership, bus, metrics, pino({ level: 'silent' }), () => NOW_MS + 5);
  return { history, membership, commands, metrics, sequencer };
}

/** Sequences a task that must get a frame (not a duplicate of a trimmed entry). */
async function frameOf(sequencer: Sequencer, event: InboundTaskEvent, dedupeKey: string): Promise<RoutedFrame> {
  const frame = await sequencer.sequence(event, dedupeKey, {});
  if (frame === undefined) throw new Error('expected a frame to route');
  return frame;
}

function task(organizationId: string, n: number, publishedAtMs: number | undefined): InboundTaskEvent {
  return { eventType: 'task.event.updated', organizationId, dataJson: JSON.stringify({ n }), publishedAtMs, messageId: `m${n}` };
}

const PUBLISHED_MS = NOW_MS - 1_000;

async function sequenced(metrics: GatewayMetrics, result: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric('orgcast_events_sequenced_total')!.get();
  return metric.values.find((value) => value.labels.result === result)?.value ?? 0;
}

describe('Sequencer', () => {
  it('gives a task its history id and prev, and builds the client frame with that prev', async () => {
    const { sequencer, history, metrics } = await setup();
    const first = await frameOf(sequencer, task('acme', 1, PUBLISHED_MS), 'k1');
    const second = await frameOf(sequencer, task('acme', 2, PUBLISHED_MS), 'k2');
    const other = await frameOf(sequencer, task('globex', 3, PUBLISHED_MS), 'k3');

    const stored = await history.readAfter('acme', '0-0', 10);
    expect(stored.entries.map((entry) => [entry.id, entry.prev])).toEqual([[first.id, '0-0'], [second.id, first.id]]);
    expect(first.prev).toBe('0-0');
    expect(second.prev).toBe(first.id);
    expect(other.prev).toBe('0-0'); // each organization has its own chain

    expect(second).toMatchObject({ organizationId: 'acme', publishedAtMs: PUBLISHED_MS });
    expect(JSON.parse(second.frame)).toEqual({
      event_type: 'task.event.updated',
      id: second.id,
      prev: first.id,
      organization_id: 'acme',
      data: { n: 2 },
      timestamp: new Date(PUBLISHED_MS).toISOString(),
    });
    expect(stored.entries[1]).toMatchObject({ eventType: 'task.event.updated', dataJson: '{"n":2}', timestampMs: PUBLISHED_MS });
    expect(await sequenced(metrics, 'appended')).toBe(3);
  });

  it('stamps an event without a publish time with its own clock', async () => {
    const { sequencer, history } = await setup();
    const frame = await frameOf(sequencer, task('acme', 1, undefined), 'k1');
    expect(frame.publishedAtMs).toBeUndefined();
    expect((JSON.parse(frame.frame) as { timestamp: string }).timestamp).toBe(new Date(NOW_MS + 5).toISOString());
    expect((await history.readAfter('acme', '0-0', 10)).entries[0]!.timestampMs).toBe(NOW_MS + 5);
  });

  it('gives a duplicate its first id and prev, stores nothing, and still returns a frame to route', async () => {
    const { sequencer, history, metrics } = await setup();
    const first = await frameOf(sequencer, task('acme', 1, PUBLISHED_MS), 'k1');
    const next = await frameOf(sequencer, task('acme', 2, PUBLISHED_MS), 'k2');
    const again = await frameOf(sequencer, task('acme', 1, PUBLISHED_MS), 'k1');

    expect(again.id).toBe(first.id);
    expect(again.prev).toBe('0-0'); // its own predecessor, not the organization's last id
    expect(again.frame).toBe(first.frame);
    expect((await history.readAfter('acme', '0-0', 10)).entries.map((entry) => entry.id)).toEqual([first.id, next.id]);
    expect(await sequenced(metrics, 'duplicate')).toBe(1);
    expect(await sequenced(metrics, 'appended')).toBe(2);
  });

  it('routes a duplicate as history stored it: a retry with another body or a later clock gets the stored frame', async () => {
    const { sequencer } = await setup();
    const first = await frameOf(sequencer, task('acme', 1, undefined), 'k1'); // stamped NOW_MS + 5
    const retried = await frameOf(sequencer, { ...task('acme', 9, undefined), publishedAtMs: NOW_MS + 60_000 }, 'k1');
    expect(retried.frame).toBe(first.frame);
  });

  it('counts a redelivery without message id taken for a stored entry by its content, and nothing else', async () => {
    const { sequencer, metrics } = await setup();
    const matches = async (): Promise<number> => (await metrics.registry.getSingleMetric('orgcast_events_content_redelivery_matches_total')!.get()).values[0]?.value ?? 0;
    const first = await sequencer.sequence(task('acme', 1, PUBLISHED_MS), 'h:same', { dedupe: 'record', token: 't1' }, 'content');
    // A byte-identical first delivery is a new event; a publisher's retry with its id is no content match.
    await sequencer.sequence(task('acme', 1, PUBLISHED_MS), 'h:same', { dedupe: 'record', token: 't2' }, 'content');
    await sequencer.sequence(task('acme', 2, PUBLISHED_MS), 'm2', {}, 'message_id');
    await sequencer.sequence(task('acme', 2, PUBLISHED_MS), 'm2', {}, 'message_id');
    expect(await matches()).toBe(0);
    const redelivered = await sequencer.sequence(task('acme', 1, PUBLISHED_MS), 'h:same', { dedupe: 'check', token: 't3' }, 'content');
    expect(redelivered?.id).not.toBe(first?.id); // the newest copy
    expect(await matches()).toBe(1);
  });

  it('routes nothing for a duplicate whose entry is no longer in history', async () => {
    const history = createMemoryHistoryStore({ maxLength: 1, maxAgeMs: 3_600_000, dedupeTtlSeconds: 60, now: () => NOW_MS });
    const bus = createLocalCommandBus();
    await bus.start({ command: () => undefined, missed: () => undefined });
    const sequencer = new Sequencer(history, createMemoryMembershipStore({ ttlSeconds: 3_600, now: () => NOW_MS }), bus, createMetrics({ collectDefaults: false }), pino({ level: 'silent' }));
    await frameOf(sequencer, task('acme', 1, PUBLISHED_MS), 'k1');
    await frameOf(sequencer, task('acme', 2, PUBLISHED_MS), 'k2'); // trims k1's entry (max length 1)
    expect(await sequencer.sequence(task('acme', 1, PUBLISHED_MS), 'k1', {})).toBeUndefined();
  });

  it('marks every frame with the newest cluster command number: read when a run starts, then the one it published', async () => {
    const { history, membership, metrics } = await setup();
    const published: ClusterCommand[] = [];
    let counter = 41;
    const bus: CommandBus = {
      start: async () => undefined,
      stop: async () => undefined,
      publish: async (command) => {
        published.push(command);
        counter += 1;
        return counter;
      },
      fence: { hasHeard: () => true, waitFor: async () => undefined, latest: async () => counter },
    };
    const sequencer = new Sequencer(history, membership, bus, metrics, pino({ level: 'silent' }), () => NOW_MS);
    sequencer.runStarted();
    expect((await frameOf(sequencer, task('acme', 1, PUBLISHED_MS), 'f1')).commandFence).toBe(41);
    await sequencer.membershipChange({ eventType: 'organization.member.removed', organizationId: 'acme', userId: 'u', atMs: NOW_MS });
    expect(published).toHaveLength(1);
    expect((await frameOf(sequencer, task('acme', 2, PUBLISHED_MS), 'f2')).commandFence).toBe(42);
    // Another sequencer published meanwhile (this one was away): a new run reads the number again.
    counter = 50;
    expect((await frameOf(sequencer, task('acme', 3, PUBLISHED_MS), 'f3')).commandFence).toBe(42);
    sequencer.runStarted();
    expect((await frameOf(sequencer, task('acme', 4, PUBLISHED_MS), 'f4')).commandFence).toBe(50);
  });

  it('numbers each run: a stale sequencer\'s late first-delivery append after the new run appended the message is refused, not stored twice', async () => {
    const { history, membership, metrics } = await setup();
    const bus = createLocalCommandBus();
    const old = new Sequencer(history, membership, bus, metrics, pino({ level: 'silent' }), () => NOW_MS);
    const current = new Sequencer(history, membership, bus, metrics, pino({ level: 'silent' }), () => NOW_MS);
    old.runStarted();
    await frameOf(old, task('acme', 1, PUBLISHED_MS), 'k1');
    current.runStarted();
    // The new run appends the redelivered message; the old run's own append of it arrives late.
    const redelivered = await frameOf(current, task('acme', 2, PUBLISHED_MS), 'k2');
    await expect(old.sequence(task('acme', 2, PUBLISHED_MS), 'k2', { dedupe: 'record', token: 'late' })).rejects.toBeInstanceOf(StaleRunError);
    expect((await history.readAfter('acme', '0-0', 10)).entries.map((entry) => entry.id)).toEqual([expect.any(String), redelivered.id]);
  });

  it('records a membership change and publishes it with the organization\'s last id as its position', async () => {
    const { sequencer, membership, commands } = await setup();
    await frameOf(sequencer, task('acme', 1, PUBLISHED_MS), 'k1');
    const last = await frameOf(sequencer, task('acme', 2, PUBLISHED_MS), 'k2');
    const issuedAtMs = NOW_MS - 60_000;

    const removed: InboundMembershipChange = { eventType: 'organization.member.removed', organizationId: 'acme', userId: 'u1', atMs: NOW_MS - 10 };
    await sequencer.membershipChange(removed);
    expect(await membership.effectiveOrganizations('u1', ['acme', 'globex'], issuedAtMs)).toEqual(['globex']);
    expect(commands).toEqual([{ type: 'membership', change: removed, position: last.id }]);

    const added: InboundMembershipChange = { eventType: 'organization.member.added', organizationId: 'initech', userId: 'u1', atMs: NOW_MS - 5 };
    await sequencer.membershipChange(added);
    expect(await membership.effectiveOrganizations('u1', ['globex'], issuedAtMs)).toEqual(['globex', 'initech']);
    // An organization without history: its position is the start of its sequence.
    expect(commands[1]).toEqual({ type: 'membership', change: added, position: '0-0' });
  });
});
