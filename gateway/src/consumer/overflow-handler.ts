import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { ORGANIZATION_HEADER } from './routed-frame.js';
import { createDeliverySettler } from './settle-delivery.js';

export interface OverflowHandlerOptions {
  /** Where rejected pod-queue messages go on to (the dead-letter queue of poison messages). */
  readonly deadLetterExchange: string;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
}

/** Settles one delivery of the shared overflow queue; never throws. */
export type OverflowHandler = (channel: Channel, message: ConsumeMessage, publisher: ConfirmChannel) => void;

/**
 * What pod queues dead-letter lands here, apart from poison ingest messages. A frame a pod queue
 * dropped because it was full (`x-death` reason `maxlen`) is counted in
 * `orgcast_pod_queue_overflow_total` and discarded: that pod sees the gap in its frames' `prev`
 * (or in its periodic check against history) and reads the frame from history. Anything else (a
 * message a pod rejected) goes on to the dead-letter exchange, to be kept for inspection, and is
 * acked once the broker confirmed the forward.
 */
export function createOverflowHandler(options: OverflowHandlerOptions): OverflowHandler {
  const settler = createDeliverySettler(options.logger, options.metrics);
  return (channel, message, publisher) => {
    const headers = message.properties.headers ?? {};
    const death = firstDeath(headers['x-death']);
    if (death?.reason === 'maxlen') {
      options.metrics.podQueueOverflow.inc();
      options.logger.warn({ queue: death.queue, organization: headers[ORGANIZATION_HEADER] }, 'a pod queue overflowed and dropped a frame; that pod repairs it from history');
      settler.ack(channel, message);
      return;
    }
    // Acked only once the dead-letter exchange has it: a refused or unconfirmed forward is redelivered.
    const forwarded = (error: unknown): void => {
      if (error === null || error === undefined) {
        settler.ack(channel, message);
        return;
      }
      options.logger.warn({ err: error }, 'the broker refused a rejected pod-queue message forwarded to the dead-letter exchange; requeued');
      settler.requeue(channel, message);
    };
    try {
      publisher.publish(options.deadLetterExchange, message.fields.routingKey, message.content, { ...message.properties, headers }, forwarded);
    } catch (error) {
      options.logger.warn({ err: error }, 'could not forward a rejected pod-queue message to the dead-letter exchange; it is redelivered');
    }
  };
}

function firstDeath(value: unknown): { reason: unknown; queue: unknown } | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const death: unknown = value[0];
  if (death === null || typeof death !== 'object') return undefined;
  const { reason, queue } = death as Record<string, unknown>;
  return { reason, queue };
}
