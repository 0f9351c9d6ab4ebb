/** Routing keys the consumer binds and publishes. The task service's keys are the event types. */

export const CANARY_ROUTING_PREFIX = 'orgcast.canary.';

/** Binding patterns of every pod queue, besides the pod's own canary key. */
export const EVENT_BINDING_PATTERNS = ['task.event.*', 'organization.member.*'] as const;

/** The routing key of one pod's readiness canary (pod names have no `*` or `#`). */
export function canaryRoutingKey(pod: string): string {
  return `${CANARY_ROUTING_PREFIX}${pod}`;
}

/** The durable queue, bound to the dead-letter exchange, where rejected messages are kept. */
export function deadLetterQueueName(exchange: string): string {
  return `${exchange}.dead-letter`;
}
