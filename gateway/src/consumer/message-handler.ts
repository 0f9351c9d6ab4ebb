import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { EventSink } from './event-source.js';
import { parseBrokerMessage } from './parse-message.js';

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

  /** Acks and nacks throw once their channel is closed; the broker then redelivers the message. */
  function settle(action: () => void): void {
    try {
      action();
    } catch (error) {
      logger.debug({ err: error }, 'could not settle a message on a closed channel; the broker will redeliver it');
    }
  }

  async function deliver(channel: Channel, message: ConsumeMessage, eventType: string, handler: () => void | Promise<void>): Promise<void> {
    try {
      await handler();
    } catch (error) {
      logger.warn({ err: error, eventType, messageId: message.properties.messageId, retryDelayMs: options.retryDelayMs }, 'event sink failed; requeueing the message');
      await options.sleep(options.retryDelayMs);
      settle(() => channel.nack(message, false, true));
      return;
    }
    metrics.eventsConsumed.inc({ event_type: eventType });
    settle(() => channel.ack(message));
  }

  return async (channel, message, sink) => {
    const { properties, fields } = message;
    const parsed = parseBrokerMessage({
      routingKey: fields.routingKey,
      body: message.content,
      headers: properties.headers,
      timestampSeconds: typeof properties.timestamp === 'number' ? properties.timestamp : undefined,
      messageId: typeof properties.messageId === 'string' ? properties.messageId : undefined,
      receivedAtMs: options.now(),
    });
    switch (parsed.kind) {
      case 'invalid':
        metrics.eventsDeadLettered.inc({ reason: parsed.reason });
        logger.warn({
          reason: parsed.reason,
          detail: parsed.detail,
          routingKey: fields.routingKey,
          messageId: properties.messageId,
          bytes: message.content.length,
          redelivered: fields.redelivered,
        }, 'dead-lettering an invalid broker message');
        settle(() => channel.nack(message, false, false));
        return;
      case 'canary':
        if (parsed.pod === options.podName) options.onCanary(parsed.sentAtMs);
        settle(() => channel.ack(message));
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
