import { createHash } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { IngestMessage, IngestRun } from '../events/event-transport.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { parseBrokerMessage } from './parse-message.js';
import { brokerMessageOf, createDeliverySettler } from './settle-delivery.js';

export interface IngestDeliveryOptions {
  /** Larger message bodies are dead-lettered (`too_large`), never stored or routed. */
  readonly maxEventBytes: number;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly now: () => number;
}

/** Settles one delivery of the ingest queue into a run of the sequencing pipeline; never throws. */
export type IngestDelivery = (channel: Channel, message: ConsumeMessage, run: IngestRun) => Promise<void>;

/**
 * The AMQP side of the ingest stream: a delivery that is too large or invalid is dead-lettered and
 * counted; a valid one becomes an IngestMessage whose `ack` acks the delivery.
 */
export function createIngestDelivery(options: IngestDeliveryOptions): IngestDelivery {
  const settler = createDeliverySettler(options.logger, options.metrics);
  return async (channel, message, run) => {
    const receivedAtMs = options.now();
    if (message.content.length > options.maxEventBytes) {
      settler.deadLetter(channel, message, 'too_large', `the body is ${message.content.length} bytes, more than MAX_EVENT_BYTES (${options.maxEventBytes})`);
      return;
    }
    const parsed = parseBrokerMessage(brokerMessageOf(message, receivedAtMs));
    if (parsed.kind === 'invalid') return settler.deadLetter(channel, message, parsed.reason, parsed.detail);
    if (parsed.kind === 'canary') return settler.deadLetter(channel, message, 'invalid_shape', 'a canary on the ingest queue');
    const { dedupeKey, dedupe } = dedupeOf(message);
    const messageId: unknown = message.properties.messageId;
    await run.handle({
      body: parsed.kind === 'task' ? { kind: 'task', event: parsed.event } : { kind: 'membership', change: parsed.change },
      dedupeKey,
      dedupe,
      receivedAtMs,
      messageId: typeof messageId === 'string' ? messageId : undefined,
      ack: () => settler.ack(channel, message),
    } satisfies IngestMessage);
  };
}

/**
 * What identifies a message across redeliveries, and whether a known key means a duplicate:
 * - the publisher's AMQP `message_id`: a publisher that sends the same id twice (a retry after a
 *   lost confirm) means the same event, so a known id is a duplicate (`check`);
 * - without one, the SHA-256 of routing key, properties that tell publishes apart (timestamp,
 *   `x-published-at-ms`) and body. Only a redelivery (the broker's `redelivered` flag: delivered
 *   before, not acked) is checked against it; a first delivery is always appended (`record`), so a
 *   byte-identical event published again (done → open → done) is a new event, not a duplicate.
 */
export function dedupeOf(message: Pick<ConsumeMessage, 'fields' | 'properties' | 'content'>): { dedupeKey: string; dedupe: 'check' | 'record' } {
  const messageId: unknown = message.properties.messageId;
  if (typeof messageId === 'string' && messageId !== '') return { dedupeKey: messageId, dedupe: 'check' };
  const { timestamp, headers } = message.properties as { timestamp?: unknown; headers?: Record<string, unknown> };
  const hash = createHash('sha256')
    .update(`${message.fields.routingKey}\n${String(timestamp ?? '')}\n${String(headers?.['x-published-at-ms'] ?? '')}\n`)
    .update(message.content)
    .digest('base64url')
    .slice(0, 32);
  return { dedupeKey: `h:${hash}`, dedupe: message.fields.redelivered ? 'check' : 'record' };
}
