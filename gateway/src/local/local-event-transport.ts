import { EventTooLargeError } from '../events/event-too-large-error.js';
import { randomUUID } from 'node:crypto';
import type { DevPublishMessage } from '../dev/dev-publish-message.js';
import type { EventTransport, IngestRun, RoutedSink } from '../events/event-transport.js';
import type { InboundEvent } from '../events/inbound-event.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import { EventSourceStateError } from '../consumer/event-source-error.js';

export interface LocalEventTransportOptions {
  readonly now?: () => number;
  /** An exception while delivering a routed frame (a bug): reported, never a crash. */
  readonly deliveryFault: (error: unknown, frame: RoutedFrame) => void;
  /** Events whose `data` serialises to more bytes are refused (MAX_EVENT_BYTES). */
  readonly maxEventBytes: number;
}

/** Longest `stop()` lets queued events finish. */
const STOP_TIMEOUT_MS = 5_000;


/**
 * The embedded node's event transport, the same shape as the broker's: events published in-process
 * enter the ingest stream one at a time, in publish order, into one run of the sequencing pipeline;
 * routed frames take an in-process hop (a microtask, in publish order) to this node's feeds, for
 * the organizations bound here. `publishInbound` resolves once the event is sequenced and routed.
 */
export function createLocalEventTransport(options: LocalEventTransportOptions): EventTransport {
  const now = options.now ?? Date.now;
  const { deliveryFault } = options;
  let state: 'idle' | 'started' | 'stopping' | 'stopped' = 'idle';
  let run: IngestRun | undefined;
  let sink: RoutedSink | undefined;
  const bound = new Set<string>();
  const stopping = new AbortController();
  /** Tail of the ingest queue; never rejects. */
  let tail: Promise<void> = Promise.resolve();

  const sleep = async (ms: number): Promise<boolean> => {
    if (stopping.signal.aborted) return false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      stopping.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    return !stopping.signal.aborted;
  };

  function enqueue(body: InboundEvent, dedupeKey: string): Promise<void> {
    const current = run;
    if (state !== 'started' || current === undefined) return Promise.reject(new EventSourceStateError(`cannot publish to a local event transport that is ${state}`));
    let acked = false;
    let done: () => void = () => undefined;
    const ackedPromise = new Promise<void>((resolve) => (done = resolve));
    const handled = tail.then(() => current.handle({
      body,
      dedupeKey,
      dedupe: 'check',
      receivedAtMs: now(),
      messageId: dedupeKey,
      ack: () => {
        acked = true;
        done();
      },
    }));
    tail = handled.then(() => undefined, () => undefined);
    return handled.then(() => Promise.race([ackedPromise, current.drained().then(() => {
      if (!acked) throw new EventSourceStateError('the local event transport stopped before the event was sequenced');
    })]));
  }

  return {
    async start(ingest, routed) {
      if (state !== 'idle') throw new EventSourceStateError(`cannot start a local event transport that is ${state}`);
      run = ingest.open({ isCurrent: () => state !== 'stopped', sleep });
      sink = routed;
      state = 'started';
    },
    async stop() {
      if (state === 'stopped' || state === 'stopping') return;
      // Events already published are sequenced first (a failing one gives up at the deadline).
      state = 'stopping';
      const drainedInTime = tail.then(() => run?.drained());
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drainedInTime, new Promise((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS)))]);
      clearTimeout(timer);
      state = 'stopped';
      stopping.abort();
      await run?.drained();
    },
    isReady: () => state === 'started',
    publishRouted(frame: RoutedFrame) {
      if (state !== 'started' && state !== 'stopping') return Promise.reject(new EventSourceStateError('the local event transport is not started'));
      if (bound.has(frame.organizationId)) {
        queueMicrotask(() => {
          // As the broker path does (routed-handler.ts): a bug in delivery is logged, not a crash.
          try {
            sink?.onFrame(frame);
          } catch (error) {
            deliveryFault(error, frame);
          }
        });
      }
      return Promise.resolve();
    },
    publishInbound(message: DevPublishMessage) {
      if ('userId' in message) return enqueue({ kind: 'membership', change: { ...message, atMs: now() } }, randomUUID());
      const dataJson = JSON.stringify(message.data ?? null);
      const bytes = Buffer.byteLength(dataJson, 'utf8');
      if (bytes > options.maxEventBytes) return Promise.reject(new EventTooLargeError(`the event's data is ${bytes} bytes, more than MAX_EVENT_BYTES (${options.maxEventBytes})`));
      const messageId = message.messageId ?? randomUUID();
      return enqueue({ kind: 'task', event: { eventType: message.eventType, organizationId: message.organizationId, dataJson, publishedAtMs: now(), messageId } }, messageId);
    },
    async bindOrganization(organizationId) {
      bound.add(organizationId);
    },
    async unbindOrganization(organizationId) {
      bound.delete(organizationId);
    },
  };
}
