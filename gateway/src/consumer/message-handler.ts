import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { EventSink } from './event-source.js';
import { parseBrokerMessage } from './parse-message.js';
import { brokerMessageOf, createDeliverySettler } from './settle-delivery.js';

export interface MessageHandlerOptions {
  readonly podName: string;
  /** Wait before requeueing a message whose sink handler failed. */
  readonly retryDelayMs: number;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly now: () => number;
  /** Waits `ms`; may resolve early (when stopping). */
  readonly sleep: (ms: number) => Promise<unknown>;
  /** One of this pod's own canaries came back. */
  readonly onCanary: (sentAtMs: number) => void;
}

export type MessageHandler = (channel: Channel, message: ConsumeMessage, sink: EventSink) => Promise<void>;

/**
 * Settles one delivery, never throwing:
 * - invalid → counted, logged without its body, rejected without requeue (the queue dead-letters it);
 * - task / membership → handed to the sink, then acked; a sink failure is logged and the message
 *   requeued after `retryDelayMs` (a transient failure, by the sink contract);
 * - canary → reported when it is this pod's, acked.
 * A redelivered message is handled like any other.
 */
export function createMessageHandler(options: MessageHandlerOptions): MessageHandler {
  const { logger, metrics } = options;
  const settler = createDeliverySettler(logger, metrics);

  async function deliver(channel: Channel, message: ConsumeMessage, eventType: string, handler: () => void | Promise<void>): Promise<void> {
    try {
      await handler();
    } catch (error) {
      logger.warn({ err: error, eventType, messageId: message.properties.messageId, retryDelayMs: options.retryDelayMs }, 'event sink failed; requeueing the message');
      await options.sleep(options.retryDelayMs);
      settler.requeue(channel, message);
      return;
    }
    metrics.eventsConsumed.inc({ event_type: eventType });
    settler.ack(channel, message);
  }

  return async (channel, message, sink) => {
    const parsed = parseBrokerMessage(brokerMessageOf(message, options.now()));
    switch (parsed.kind) {
      case 'invalid':
        settler.deadLetter(channel, message, parsed.reason, parsed.detail);
        return;
      case 'canary':
        if (parsed.pod === options.podName) options.onCanary(parsed.sentAtMs);
        settler.ack(channel, message);
        return;
      case 'task': {
        const { event } = parsed;
        await deliver(channel, message, event.eventType, () => sink.onTaskEvent(event));
        return;
      }
      case 'membership': {
        const { change } = parsed;
        await deliver(channel, message, change.eventType, () => sink.onMembershipChange(change));
        return;
      }
    }
  };
}
