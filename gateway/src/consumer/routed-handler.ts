import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { RoutedSink } from '../events/event-transport.js';
import { parseBrokerMessage } from './parse-message.js';
import { routedFrameOf } from './routed-frame.js';
import { CANARY_ROUTING_PREFIX } from './routing-keys.js';
import { brokerMessageOf, createDeliverySettler } from './settle-delivery.js';

export interface RoutedHandlerOptions {
  readonly podName: string;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly now: () => number;
  /** One of this pod's own canaries came back. */
  readonly onCanary: (sentAtMs: number) => void;
}

export type RoutedHandler = (channel: Channel, message: ConsumeMessage, sink: RoutedSink) => void;

/**
 * Settles one delivery of the pod queue, never throwing:
 * - a frame (it has `x-event-id`) → `sink.onFrame`, then acked. A throwing sink is a bug, not
 *   a transient failure (the contract's handler is synchronous): logged and acked, as a redelivery
 *   could send sockets part of the frame's deliveries twice;
 * - a canary (no `x-event-id`, canary routing key) → reported when it is this pod's, acked. The
 *   header comes first so that an organization whose id looks like a canary key still gets its
 *   frames; another pod's canary arrives only through such an organization's binding;
 * - anything else → dead-lettered (`invalid_shape`).
 */
export function createRoutedHandler(options: RoutedHandlerOptions): RoutedHandler {
  const { logger } = options;
  const settler = createDeliverySettler(logger, options.metrics);

  return (channel, message, sink) => {
    const frame = routedFrameOf(message);
    if (frame !== undefined) {
      if (frame.routedAtMs !== undefined) options.metrics.eventStages.observe('routing', (options.now() - frame.routedAtMs) / 1000);
      try {
        sink.onFrame(frame);
      } catch (error) {
        logger.error({ err: error, organizationId: frame.organizationId, id: frame.id }, 'the routed frame handler threw; acking the frame anyway');
      }
      settler.ack(channel, message);
      return;
    }
    if (!message.fields.routingKey.startsWith(CANARY_ROUTING_PREFIX)) {
      settler.deadLetter(channel, message, 'invalid_shape', 'routed message without an x-event-id header');
      return;
    }
    const parsed = parseBrokerMessage(brokerMessageOf(message, options.now()));
    if (parsed.kind === 'canary') {
      if (parsed.pod === options.podName) options.onCanary(parsed.sentAtMs);
      settler.ack(channel, message);
    } else {
      settler.deadLetter(channel, message, parsed.kind === 'invalid' ? parsed.reason : 'invalid_shape', parsed.kind === 'invalid' ? parsed.detail : 'not a canary');
    }
  };
}
