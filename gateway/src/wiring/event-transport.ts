import type { Config } from '../config/config.js';
import { createAmqpEventTransport } from '../consumer/amqp-event-transport.js';
import type { EventTransport } from '../events/event-transport.js';
import { createLocalEventTransport } from '../local/local-event-transport.js';
import type { StoreContext } from './stores.js';

export type EventTransportFactory = (config: Config, context: StoreContext) => EventTransport;

/** RabbitMQ when AMQP_URL is set, else in-process: the only place that chooses. */
export const defaultEventTransport: EventTransportFactory = (config, context) => (config.amqp === undefined
  ? createLocalEventTransport({
    maxEventBytes: config.maxEventBytes,
    deliveryFault: (error, frame) => {
      context.metrics.handlerErrors.inc({ handler: 'feed' });
      context.logger.error({ err: error, organizationId: frame.organizationId, id: frame.id }, 'delivering a routed frame threw');
    },
  })
  : createAmqpEventTransport({ ...config.amqp, podName: config.podName, maxEventBytes: config.maxEventBytes }, context));
