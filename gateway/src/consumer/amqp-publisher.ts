import { randomUUID } from 'node:crypto';
import type { Channel, ConfirmChannel } from 'amqplib';
import { EventTooLargeError } from '../events/event-too-large-error.js';
import type { MembershipEventType, TaskEventType } from '../protocol/frames.js';
import { PUBLISHED_AT_HEADER } from './parse-message.js';
import { canaryRoutingKey } from './routing-keys.js';

export interface PublishableEvent {
  readonly eventType: TaskEventType;
  readonly organizationId: string;
  readonly data: unknown;
  /** Publish time; defaults to now. */
  readonly timestampMs?: number;
  readonly messageId?: string;
}

export interface PublishableMembershipChange {
  readonly eventType: MembershipEventType;
  readonly organizationId: string;
  readonly userId: string;
  readonly timestampMs?: number;
}

/**
 * Publishes a task event the way the task service does (the contract in docs): routing key = event
 * type, JSON body, persistent, AMQP `timestamp` in seconds plus `x-published-at-ms` for millisecond
 * latency. Returns `channel.publish`'s result (false: wait for 'drain'); use a confirm channel and
 * `waitForConfirms()` to know the broker has it.
 */
export function publishEvent(channel: Channel, exchange: string, event: PublishableEvent, options: { readonly maxBytes?: number } = {}): boolean {
  const timestampMs = event.timestampMs ?? Date.now();
  const body = Buffer.from(JSON.stringify({
    event_type: event.eventType,
    organization_id: event.organizationId,
    data: event.data,
    timestamp: new Date(timestampMs).toISOString(),
  }));
  // The same rule as the ingest consumer's: a larger body would be dead-lettered, never stored.
  if (options.maxBytes !== undefined && body.length > options.maxBytes) {
    throw new EventTooLargeError(`the event is ${body.length} bytes, more than MAX_EVENT_BYTES (${options.maxBytes})`);
  }
  return publishJson(channel, exchange, event.eventType, body, timestampMs, event.messageId ?? randomUUID());
}

/** Publishes `organization.member.added|removed` with `{organization_id, user_id, timestamp}`. */
export function publishMembershipChange(channel: Channel, exchange: string, change: PublishableMembershipChange): boolean {
  const timestampMs = change.timestampMs ?? Date.now();
  const body = {
    event_type: change.eventType,
    organization_id: change.organizationId,
    user_id: change.userId,
    timestamp: new Date(timestampMs).toISOString(),
  };
  return publishJson(channel, exchange, change.eventType, Buffer.from(JSON.stringify(body)), timestampMs, randomUUID());
}

/** A readiness canary: small and transient, it only proves the path exchange → pod queue → consumer. */
export function publishCanary(channel: ConfirmChannel, exchange: string, pod: string, sentAtMs: number, confirmed: (error: unknown) => void): boolean {
  const body = Buffer.from(JSON.stringify({ pod, sent_at_ms: sentAtMs }));
  return channel.publish(exchange, canaryRoutingKey(pod), body, { persistent: false, contentType: 'application/json' }, confirmed);
}

function publishJson(channel: Channel, exchange: string, routingKey: string, body: Buffer, timestampMs: number, messageId: string): boolean {
  return channel.publish(exchange, routingKey, body, {
    persistent: true,
    contentType: 'application/json',
    timestamp: Math.floor(timestampMs / 1000),
    messageId,
    headers: { [PUBLISHED_AT_HEADER]: timestampMs },
  });
}
