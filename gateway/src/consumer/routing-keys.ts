import { createHash } from 'node:crypto';

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

/**
 * Cluster mode: the fanout exchange and queue where pod queues drop what overflows (`drop-head`)
 * or what a pod rejects, apart from the dead-letter queue of poison ingest messages.
 */
export function overflowQueueName(exchange: string): string {
  return `${exchange}.overflow`;
}

/** Cluster mode: the direct exchange of sequenced frames, routing key = organization id. */
export function routedExchangeName(exchange: string): string {
  return `${exchange}.routed`;
}

/** AMQP routing keys are short strings: at most 255 bytes. */
export const MAX_ROUTING_KEY_BYTES = 255;

/** Organization ids up to this many UTF-8 bytes are their own routing key. */
const MAX_VERBATIM_KEY_BYTES = 200;
const HASHED_PREFIX = '#sha256:';

/**
 * The routed exchange's routing key of an organization: the id itself when it is at most 200
 * UTF-8 bytes and does not start with `#`, else `#sha256:` and the SHA-256 of the id (base64url).
 * Collision-free between the two forms (only hashed keys start with `#`), and among hashed keys as
 * far as SHA-256 is. Frames carry the id itself in a header, so the key is only for routing.
 */
export function organizationRoutingKey(organizationId: string): string {
  if (!organizationId.startsWith('#') && Buffer.byteLength(organizationId, 'utf8') <= MAX_VERBATIM_KEY_BYTES) return organizationId;
  return `${HASHED_PREFIX}${createHash('sha256').update(organizationId, 'utf8').digest('base64url')}`;
}
