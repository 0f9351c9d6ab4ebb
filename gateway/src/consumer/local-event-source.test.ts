import { describe, expect, it } from 'vitest';
import type { EventSink, InboundMembershipChange, InboundTaskEvent } from './event-source.js';
import { EventSourceStateError } from './event-source-error.js';
import { createLocalEventSource } from './local-event-source.js';

function recordingSink(options: { delayMs?: (index: number) => number; failOn?: string } = {}) {
  const seen: string[] = [];
  const sink: EventSink = {
    async onTaskEvent(event: InboundTaskEvent) {
      const index = seen.length;
      await new Promise((resolve) => setTimeout(resolve, options.delayMs?.(index) ?? 0));
      if (event.organizationId === options.failOn) throw new Error('sink failed');
      seen.push(`task:${event.organizationId}:${String(event.data)}`);
    },
    onMembershipChange(change: InboundMembershipChange) {
      seen.push(`${change.eventType}:${change.userId}`);
    },
  };
  return { sink, seen };
}

const task = (organizationId: string, data: unknown) => ({ eventType: 'task.event.created' as const, organizationId, data, publishedAtMs: 1 });

describe('createLocalEventSource', () => {
  it('delivers in publish order even when earlier handlers are slower, and awaits the sink', async () => {
    const source = createLocalEventSource();
    const { sink, seen } = recordingSink({ delayMs: (index) => (index === 0 ? 30 : 0) });
    await source.start(sink);
    const first = source.publishTask(task('a', 1));
    const second = source.publishMembership({ eventType: 'organization.member.removed', organizationId: 'a', userId: 'u', atMs: 2 });
    const third = source.publishTask(task('a', 3));
    await third;
    expect(seen).toEqual(['task:a:1', 'organization.member.removed:u', 'task:a:3']);
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    await source.stop();
  });

  it('gives each task event a message id unless one is given', async () => {
    const source = createLocalEventSource();
    const ids: (string | undefined)[] = [];
    await source.start({ onTaskEvent: (event) => void ids.push(event.messageId), onMembershipChange: () => undefined });
    await source.publishTask(task('a', 1));
    await source.publishTask({ ...task('a', 2), messageId: 'given' });
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).toBe('given');
    await source.stop();
  });

  it('rejects the publish whose handler failed, and still delivers the next one', async () => {
    const source = createLocalEventSource();
    const { sink, seen } = recordingSink({ failOn: 'bad' });
    await source.start(sink);
    await expect(source.publishTask(task('bad', 1))).rejects.toThrow('sink failed');
    await source.publishTask(task('good', 2));
    expect(seen).toEqual(['task:good:2']);
    await source.stop();
  });

  it('is ready only while started, refuses to publish outside that, and stops idempotently', async () => {
    const source = createLocalEventSource();
    const { sink } = recordingSink();
    expect(source.isReady()).toBe(false);
    await expect(source.publishTask(task('a', 1))).rejects.toBeInstanceOf(EventSourceStateError);
    await source.start(sink);
    expect(source.isReady()).toBe(true);
    await expect(source.start(sink)).rejects.toBeInstanceOf(EventSourceStateError);
    await source.stop();
    await source.stop();
    expect(source.isReady()).toBe(false);
    await expect(source.publishTask(task('a', 1))).rejects.toBeInstanceOf(EventSourceStateError);
  });

  it('waits for queued deliveries when stopped', async () => {
    const source = createLocalEventSource();
    const { sink, seen } = recordingSink({ delayMs: () => 20 });
    await source.start(sink);
    const pending = [source.publishTask(task('a', 1)), source.publishTask(task('a', 2))];
    await source.stop();
    expect(seen).toEqual(['task:a:1', 'task:a:2']);
    await Promise.all(pending);
  });
});
