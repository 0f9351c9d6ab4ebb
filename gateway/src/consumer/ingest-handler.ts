import { createHash } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { ClusterSink } from './cluster-source.js';
import { parseBrokerMessage } from './parse-message.js';
import { MAX_ROUTING_KEY_BYTES, isRoutableOrganization } from './routing-keys.js';
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

/**
 * Settles deliveries of the ingest queue, never throwing:
 * - invalid, or an organization id that cannot be a routing key (over 255 UTF-8 bytes) →
 *   dead-lettered, counted, never sequenced;
 * - task / membership → `sink.onIngestTask|onIngestMembership(…, dedupeKey)`, then acked.
 *
 * Pipelined: up to `window` messages are in flight at once. The sink issues its history append
 * synchronously, on one Redis connection, so appends (and the ids they get) follow delivery order,
 * and their replies, hence the routed publishes, come back in that order too. The handler returns
 * as soon as the message is in flight (or waits for room); each message is acked when its own
 * work is done.
 *
 * A sink failure is retried in place every `retryDelayMs`, not requeued: messages behind it are
 * already prefetched, and a requeue would let them overtake it. While any message is failing no new
 * one is started, and the failing ones retry one at a time, oldest first. (If one message fails while
 * a later one already in flight succeeds, e.g. a single command timing out while Redis stays up,
 * those two can end up out of order; a wholesale outage fails them all, and order holds.) The retry
 * ends when the connection goes or the source stops; the message, still unacked, then comes back (in
 * order) to whichever ingest consumer is active. Either way the sink sees the same `dedupeKey` again,
 * which keeps history free of duplicates.
 */
export function createIngestHandler(options: IngestHandlerOptions): IngestHandler {
  const { logger, metrics } = options;
  const settler = createDeliverySettler(logger, metrics);
  const window = options.window ?? 1;
  const inFlight = new Set<Promise<void>>();
  let failing = 0;
  /** Tail of the retries: failing messages retry one at a time, in the order they failed. */
  let retries: Promise<unknown> = Promise.resolve();

  async function sequence(channel: Channel, message: ConsumeMessage, eventType: string, isCurrent: () => boolean, handler: () => Promise<void>): Promise<void> {
    try {
      await handler();
    } catch (firstError) {
      failing += 1;
      const turn = retries.then(async () => {
        let error: unknown = firstError;
        for (let attempt = 1; ; attempt += 1) {
          logger.warn({ err: error, eventType, messageId: message.properties.messageId, attempt, retryDelayMs: options.retryDelayMs }, 'sequencing an ingest message failed; retrying it in place');
          if (!(await options.sleep(options.retryDelayMs)) || !isCurrent()) return false;
          try {
            await handler();
            return true;
          } catch (next) {
            error = next;
          }
        }
      });
      retries = turn.catch(() => undefined);
      const done = await turn.finally(() => {
        failing -= 1;
      });
      if (!done) return;
    }
    metrics.eventsConsumed.inc({ event_type: eventType });
    settler.ack(channel, message);
  }

  async function handle(channel: Channel, message: ConsumeMessage, sink: ClusterSink, isCurrent: () => boolean): Promise<void> {
    const parsed = parseBrokerMessage(brokerMessageOf(message, options.now()));
    if (parsed.kind === 'invalid') return settler.deadLetter(channel, message, parsed.reason, parsed.detail);
    if (parsed.kind === 'canary') return settler.deadLetter(channel, message, 'invalid_shape', 'a canary on the ingest queue');
    const { organizationId, eventType } = parsed.kind === 'task' ? parsed.event : parsed.change;
    if (!isRoutableOrganization(organizationId)) {
      return settler.deadLetter(channel, message, 'invalid_shape', `organization_id is longer than ${MAX_ROUTING_KEY_BYTES} UTF-8 bytes, the limit of a routing key`);
    }
    while (inFlight.size >= window || (failing > 0 && inFlight.size > 0)) await Promise.race(inFlight);
    if (!isCurrent()) return undefined;
    const dedupeKey = dedupeKeyOf(message);
    const handler = parsed.kind === 'task'
      ? () => sink.onIngestTask(parsed.event, dedupeKey)
      : () => sink.onIngestMembership(parsed.change, dedupeKey);
    const work: Promise<void> = sequence(channel, message, eventType, isCurrent, handler).finally(() => inFlight.delete(work));
    inFlight.add(work);
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
