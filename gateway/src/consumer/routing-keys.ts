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

/** Cluster mode: the shared queue every event enters once, to be sequenced (see cluster-source.ts). */
export function ingestQueueName(exchange: string): string {
  return `${exchange}.ingest`;
}

/** Cluster mode: the direct exchange of sequenced frames, routing key = organization id. */
export function routedExchangeName(exchange: string): string {
  return `${exchange}.routed`;
}

/** AMQP routing keys are short strings: at most 255 bytes. */
export const MAX_ROUTING_KEY_BYTES = 255;

/** Whether an organization id can be a routing key of the routed exchange. */
export function isRoutableOrganization(organizationId: string): boolean {
  return organizationId !== '' && Buffer.byteLength(organizationId, 'utf8') <= MAX_ROUTING_KEY_BYTES;
}
