import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { RoutedFrame } from '../events/routed-frame.js';
import { EventSourceStateError } from '../consumer/event-source-error.js';
import { createMetrics } from '../metrics/metrics.js';
import { createSequencingPipeline } from '../sequencing/sequencing-pipeline.js';
import { EventTooLargeError } from '../events/event-too-large-error.js';
import { createLocalEventTransport } from './local-event-transport.js';

/** The local transport under the real pipeline, with a sequencer that numbers events per organization. */
async function started(options: { delayMs?: (n: number) => number } = {}) {
  const transport = createLocalEventTransport({ maxEventBytes: 1_024, deliveryFault: (error) => { throw error; } });
  const sequenced: string[] = [];
  const frames: RoutedFrame[] = [];
  const counts = new Map<string, number>();
  const pipeline = createSequencingPipeline({
    runStarted: () => undefined,
    async sequence(event, dedupeKey) {
      await new Promise((resolve) => setTimeout(resolve, options.delayMs?.(sequenced.length) ?? 0));
      sequenced.push(`${event.organizationId}:${event.dataJson}:${dedupeKey}`);
      const n = (counts.get(event.organizationId) ?? 0) + 1;
      counts.set(event.organizationId, n);
      return { organizationId: event.organizationId, id: `${n}-0`, prev: `${n - 1}-0`, frame: event.dataJson, publishedAtMs: event.publishedAtMs };
    },
    async membershipChange(change) {
      sequenced.push(`${change.eventType}:${change.userId}`);
    },
  }, transport, { retryDelayMs: 5, window: 16, logger: pino({ level: 'silent' }), metrics: createMetrics({ collectDefaults: false }), now: Date.now });
  await transport.start(pipeline, { onFrame: (frame) => void frames.push(frame), onReconnected: () => undefined });
  return { transport, sequenced, frames };
}

const task = (organizationId: string, data: unknown, messageId?: string) => ({ eventType: 'task.event.created' as const, organizationId, data, ...(messageId !== undefined && { messageId }) });

describe('createLocalEventTransport', () => {
  it('sequences in publish order even when earlier steps are slower, and resolves once routed', async () => {
    const { transport, sequenced, frames } = await started({ delayMs: (n) => (n === 0 ? 30 : 0) });
    await transport.bindOrganization('a');
    const first = transport.publishInbound(task('a', 1, 'm1'));
    const second = transport.publishInbound({ eventType: 'organization.member.removed', organizationId: 'a', userId: 'u' });
    await transport.publishInbound(task('a', 3, 'm3'));
    await Promise.all([first, second]);
    expect(sequenced).toEqual(['a:1:m1', 'organization.member.removed:u', 'a:3:m3']);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(frames.map((f) => [f.id, f.prev, f.frame])).toEqual([['1-0', '0-0', '1'], ['2-0', '1-0', '3']]);
    await transport.stop();
  });

  it('hops routed frames only to the organizations bound here', async () => {
    const { transport, frames } = await started();
    await transport.bindOrganization('a');
    await transport.publishInbound(task('a', 1));
    await transport.publishInbound(task('b', 2));
    await transport.unbindOrganization('a');
    await transport.publishInbound(task('a', 3));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(frames.map((f) => f.frame)).toEqual(['1']);
    await transport.stop();
  });

  it('refuses an event larger than MAX_EVENT_BYTES before it is sequenced', async () => {
    const { transport, sequenced } = await started();
    await expect(transport.publishInbound(task('a', 'x'.repeat(2_000)))).rejects.toBeInstanceOf(EventTooLargeError);
    expect(sequenced).toEqual([]);
    await transport.stop();
  });

  it('is ready only while started, refuses to publish outside that, and stops idempotently', async () => {
    const transport = createLocalEventTransport({ maxEventBytes: 1_024, deliveryFault: (error) => { throw error; } });
    expect(transport.isReady()).toBe(false);
    await expect(transport.publishInbound(task('a', 1))).rejects.toBeInstanceOf(EventSourceStateError);
    await expect(transport.publishRouted({ organizationId: 'a', id: '1-0', prev: '0-0', frame: '', publishedAtMs: undefined })).rejects.toBeInstanceOf(EventSourceStateError);
    const { transport: running } = await started();
    expect(running.isReady()).toBe(true);
    await expect(running.start({ open: () => { throw new Error('not reached'); } }, { onFrame: () => {}, onReconnected: () => {} })).rejects.toBeInstanceOf(EventSourceStateError);
    await running.stop();
    await running.stop();
    expect(running.isReady()).toBe(false);
    await expect(running.publishInbound(task('a', 1))).rejects.toBeInstanceOf(EventSourceStateError);
  });

  it('waits for queued events when stopped', async () => {
    const { transport, sequenced } = await started({ delayMs: () => 20 });
    const pending = [transport.publishInbound(task('a', 1, 'k1')), transport.publishInbound(task('a', 2, 'k2'))];
    await transport.stop();
    expect(sequenced).toEqual(['a:1:k1', 'a:2:k2']);
    await Promise.all(pending);
  });
});
