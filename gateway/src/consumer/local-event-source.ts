import { randomUUID } from 'node:crypto';
import { EventSourceStateError } from './event-source-error.js';
import type { EventSink, EventSource, InboundMembershipChange, InboundTaskEvent } from './event-source.js';

export type LocalTaskEvent = Omit<InboundTaskEvent, 'messageId'> & { readonly messageId?: string };

export interface LocalEventSource extends EventSource {
  /** Resolves once the sink has handled the event; rejects with the sink's error. */
  publishTask(event: LocalTaskEvent): Promise<void>;
  publishMembership(change: InboundMembershipChange): Promise<void>;
}

/**
 * Embedded mode: events published in-process reach the sink one at a time, in publish order,
 * with no broker in between. Ready while started. A failing sink handler fails that publish only;
 * later events are still delivered.
 */
export function createLocalEventSource(): LocalEventSource {
  let sink: EventSink | undefined;
  let state: 'idle' | 'started' | 'stopped' = 'idle';
  /** Tail of the delivery queue; never rejects. */
  let tail: Promise<void> = Promise.resolve();

  function enqueue(deliver: (target: EventSink) => void | Promise<void>): Promise<void> {
    const target = sink;
    if (state !== 'started' || target === undefined) return Promise.reject(new EventSourceStateError(`cannot publish to a local event source that is ${state}`));
    const delivered = tail.then(() => deliver(target));
    tail = delivered.then(() => undefined, () => undefined);
    return delivered;
  }

  return {
    async start(eventSink) {
      if (state !== 'idle') throw new EventSourceStateError(`cannot start a local event source that is ${state}`);
      sink = eventSink;
      state = 'started';
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      await tail;
    },
    isReady() {
      return state === 'started';
    },
    publishTask(event) {
      const full: InboundTaskEvent = { ...event, messageId: event.messageId ?? randomUUID() };
      return enqueue((target) => target.onTaskEvent(full));
    },
    publishMembership(change) {
      return enqueue((target) => target.onMembershipChange(change));
    },
  };
}
