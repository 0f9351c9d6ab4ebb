import { createHash } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { ClusterSink } from './cluster-source.js';
import type { InboundMembershipChange, InboundTaskEvent } from './event-source.js';
import { parseBrokerMessage } from './parse-message.js';
import { brokerMessageOf, createDeliverySettler } from './settle-delivery.js';

export interface IngestHandlerOptions {
  /** Wait between two attempts of a failed sequencing. */
  readonly retryDelayMs: number;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly now: () => number;
  /** Waits `ms`; resolves false when stopping. */
  readonly sleep: (ms: number) => Promise<boolean>;
  /** Messages sequenced concurrently (pipelined, in order). Default 1: one at a time. */
  readonly window?: number;
}

export interface IngestHandler {
  /** `isCurrent`: the message's connection is still the live one (its ack can still land). */
  handle(channel: Channel, message: ConsumeMessage, sink: ClusterSink, isCurrent: () => boolean): Promise<void>;
  /**
   * Resolves once no message is in flight any more. `handle` returns while its message is still
   * being sequenced: a stop waits for this (bounded) before closing the connection, so that work
   * done is acked, not handed to the next consumer to do again.
   */
  drained(): Promise<void>;
}

/** A task in flight, as the tasks after it see it. */
interface ChainLink {
  readonly dedupeKey: string;
  /** Its history append is known to have happened. */
  sequenced: boolean;
  /** True once its routed publish was issued; false when it was given up (its message comes back, unacked). */
  readonly routed: Promise<boolean>;
}

/**
 * Settles deliveries of the ingest queue, never throwing:
 * - invalid → dead-lettered, counted, never sequenced;
 * - task → `sink.sequenceTask` (history append, the id), then `sink.routeTask`, then acked;
 * - membership → `sink.onIngestMembership(…, dedupeKey)`, then acked.
 *
 * Pipelined: up to `window` messages are in flight at once. The sink issues its history append
 * synchronously, on one Redis connection, so appends (and the ids they get) follow delivery order.
 * The handler returns as soon as the message is in flight (or waits for room); each message is
 * acked when its own work is done.
 *
 * A failure is retried in place every `retryDelayMs`, not requeued: messages behind it are already
 * prefetched, and a requeue would let them overtake it. While any message is failing no new one is
 * started, and the failing ones retry one at a time, in delivery order (each once every earlier
 * message is finished, at once if the retry before it succeeded). The retry ends when the connection goes or the source stops; the message,
 * still unacked, then comes back (in order) to whichever ingest consumer is active, and the sink
 * sees the same `dedupeKey` again, which keeps history free of duplicates.
 *
 * Pods drop a frame whose id is not above the last one they delivered for its organization, so the
 * frames of one organization must reach the routed exchange in id order, each before any later one.
 * Two rules keep that when one message fails while later ones of its organization succeed (a Redis
 * command timing out, then answering; a single failed append):
 * - each task is appended after the previous task of its organization still in flight (the
 *   history's conditional append): an append never lands ahead of an earlier one that failed, so
 *   ids follow delivery order per organization even across retries and failovers;
 * - each task is routed only after the previous task was routed (of any organization: a member of
 *   several organizations sees their events in delivery order too); when that one is given up, so
 *   is this one, and both come back in order.
 * A routed publish that the broker nacks while the channel stays open, with a later one of the same
 * organization confirmed, would still reach pods out of order; the pod queues (`drop-head`) give the
 * broker no reason to nack.
 */
export function createIngestHandler(options: IngestHandlerOptions): IngestHandler {
  const { logger, metrics } = options;
  const settler = createDeliverySettler(logger, metrics);
  const window = options.window ?? 1;
  const inFlight = new Set<Promise<void>>();
  /** Per organization, its newest task in flight. */
  const organizationTails = new Map<string, ChainLink>();
  /** The newest task in flight. */
  let tail: ChainLink | undefined;
  let failing = 0;
  /** The latest retry succeeded: the next failing message retries at once, without the delay. */
  let recovered = false;
  /** Settles once every message started so far is finished (acked, or given up). */
  let startedSettled: Promise<void> = Promise.resolve();

  /**
   * Runs `step`, retrying it in place while it fails, once every earlier message is finished (so the
   * failing ones retry one at a time, in delivery order, whatever order their failures came in).
   * Resolves with its result, or undefined when given up.
   */
  async function retrying<T>(step: () => Promise<T>, earlier: Promise<unknown>, message: ConsumeMessage, eventType: string, isCurrent: () => boolean): Promise<{ readonly value: T } | undefined> {
    try {
      return { value: await step() };
    } catch (firstError) {
      failing += 1;
      try {
        let error: unknown = firstError;
        await earlier;
        for (let attempt = 1; ; attempt += 1) {
          // Messages that failed together (a Redis stall) go on at once when the one before recovered.
          const delayMs = attempt === 1 && recovered ? 0 : options.retryDelayMs;
          logger.warn({ err: error, eventType, messageId: message.properties.messageId, attempt, retryDelayMs: delayMs }, 'sequencing an ingest message failed; retrying it in place');
          if (!(await options.sleep(delayMs)) || !isCurrent()) return undefined;
          try {
            const value = await step();
            recovered = true;
            return { value };
          } catch (next) {
            recovered = false;
            error = next;
          }
        }
      } finally {
        failing -= 1;
        if (failing === 0) recovered = false;
      }
    }
  }

  async function task(channel: Channel, message: ConsumeMessage, event: InboundTaskEvent, dedupeKey: string, receivedAtMs: number, earlier: Promise<unknown>, sink: ClusterSink, isCurrent: () => boolean): Promise<void> {
    const { organizationId, eventType } = event;
    if (event.publishedAtMs !== undefined) metrics.eventStages.observe('ingest_wait', (receivedAtMs - event.publishedAtMs) / 1000);
    const sameOrganization = organizationTails.get(organizationId);
    const previous = tail;
    let markRouted: (issued: boolean) => void = () => undefined;
    const link: ChainLink = { dedupeKey, sequenced: false, routed: new Promise((resolve) => (markRouted = resolve)) };
    organizationTails.set(organizationId, link);
    tail = link;
    try {
      // The condition holds only while the previous append's fate is unknown; once it is known to
      // be in history, this one (issued later on the same connection) can only land after it.
      const after = (): string | undefined => (sameOrganization !== undefined && !sameOrganization.sequenced ? sameOrganization.dedupeKey : undefined);
      const sequenced = await retrying(() => sink.sequenceTask(event, dedupeKey, after()), earlier, message, eventType, isCurrent);
      if (sequenced === undefined) return;
      link.sequenced = true;
      if (previous !== undefined && !(await previous.routed)) return;
      if (!isCurrent()) return;
      let issued = false;
      const routed = await retrying(async () => {
        const routedAtMs = options.now();
        const publish = sink.routeTask({ ...sequenced.value, routedAtMs });
        if (!issued) metrics.eventStages.observe('sequencing', (routedAtMs - receivedAtMs) / 1000);
        issued = true;
        markRouted(true);
        await publish;
      }, earlier, message, eventType, isCurrent);
      if (routed === undefined) return;
      metrics.eventsConsumed.inc({ event_type: eventType });
      settler.ack(channel, message);
    } finally {
      markRouted(false); // no effect once issued
      if (organizationTails.get(organizationId) === link) organizationTails.delete(organizationId);
      if (tail === link) tail = undefined;
    }
  }

  async function membership(channel: Channel, message: ConsumeMessage, change: InboundMembershipChange, dedupeKey: string, earlier: Promise<unknown>, sink: ClusterSink, isCurrent: () => boolean): Promise<void> {
    const done = await retrying(() => sink.onIngestMembership(change, dedupeKey), earlier, message, change.eventType, isCurrent);
    if (done === undefined) return;
    metrics.eventsConsumed.inc({ event_type: change.eventType });
    settler.ack(channel, message);
  }

  async function handle(channel: Channel, message: ConsumeMessage, sink: ClusterSink, isCurrent: () => boolean): Promise<void> {
    const receivedAtMs = options.now();
    const parsed = parseBrokerMessage(brokerMessageOf(message, receivedAtMs));
    if (parsed.kind === 'invalid') return settler.deadLetter(channel, message, parsed.reason, parsed.detail);
    if (parsed.kind === 'canary') return settler.deadLetter(channel, message, 'invalid_shape', 'a canary on the ingest queue');
    while (inFlight.size >= window || (failing > 0 && inFlight.size > 0)) await Promise.race(inFlight);
    if (!isCurrent()) return undefined;
    const dedupeKey = dedupeKeyOf(message);
    const earlier = startedSettled;
    const work: Promise<void> = (parsed.kind === 'task'
      ? task(channel, message, parsed.event, dedupeKey, receivedAtMs, earlier, sink, isCurrent)
      : membership(channel, message, parsed.change, dedupeKey, earlier, sink, isCurrent)
    ).finally(() => inFlight.delete(work));
    inFlight.add(work);
    // Settles to nothing: a chain of settled results would keep every earlier one alive.
    startedSettled = Promise.allSettled([earlier, work]).then(() => undefined);
    // Membership changes go one at a time: they are rare, and their order with task events is kept simply.
    if (parsed.kind === 'membership' || window === 1) await work;
    return undefined;
  }

  async function drained(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  }

  return { handle, drained };
}

/**
 * What identifies a message across redeliveries: its AMQP message id when the publisher set one,
 * else the SHA-256 (hex) of routing key, a newline and body, so identical re-publications of an
 * id-less message collapse into one.
 */
export function dedupeKeyOf(message: Pick<ConsumeMessage, 'fields' | 'properties' | 'content'>): string {
  const messageId: unknown = message.properties.messageId;
  if (typeof messageId === 'string' && messageId !== '') return messageId;
  return createHash('sha256').update(`${message.fields.routingKey}\n`).update(message.content).digest('hex');
}
