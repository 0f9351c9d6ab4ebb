import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { DeadLetterReason, GatewayMetrics } from '../metrics/metrics.js';
import type { BrokerMessage } from './parse-message.js';

/**
 * Acks and nacks that never throw: they throw once their channel is closed, and the broker then
 * redelivers the message anyway.
 */
export interface DeliverySettler {
  ack(channel: Channel, message: ConsumeMessage): void;
  requeue(channel: Channel, message: ConsumeMessage): void;
  /** Counts, logs without the body, and rejects without requeue (the queue dead-letters it). */
  deadLetter(channel: Channel, message: ConsumeMessage, reason: DeadLetterReason, detail: string): void;
}

export function createDeliverySettler(logger: Logger, metrics: GatewayMetrics): DeliverySettler {
  function settle(action: () => void): void {
    try {
      action();
    } catch (error) {
      logger.debug({ err: error }, 'could not settle a message on a closed channel; the broker will redeliver it');
    }
  }

  return {
    ack: (channel, message) => settle(() => channel.ack(message)),
    requeue: (channel, message) => settle(() => channel.nack(message, false, true)),
    deadLetter(channel, message, reason, detail) {
      metrics.eventsDeadLettered.inc({ reason });
      logger.warn({
        reason,
        detail,
        routingKey: message.fields.routingKey,
        messageId: message.properties.messageId,
        bytes: message.content.length,
        redelivered: message.fields.redelivered,
      }, 'dead-lettering an invalid broker message');
      settle(() => channel.nack(message, false, false));
    },
  };
}

/** The parser's view of a delivery. */
export function brokerMessageOf(message: ConsumeMessage, receivedAtMs: number): BrokerMessage {
  const { properties, fields } = message;
  return {
    routingKey: fields.routingKey,
    body: message.content,
    headers: properties.headers,
    timestampSeconds: typeof properties.timestamp === 'number' ? properties.timestamp : undefined,
    messageId: typeof properties.messageId === 'string' ? properties.messageId : undefined,
    receivedAtMs,
  };
}
