import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { isMembershipEventType, isTaskEventType, type MembershipEventType, type TaskEventType } from '../protocol/frames.js';

/** One event as a task service publishes it (docs/protocol.md, "Publishing events"). */
export type TaskServiceEvent =
  | { readonly eventType: TaskEventType; readonly organizationId: string; readonly data: unknown }
  | { readonly eventType: MembershipEventType; readonly organizationId: string; readonly userId: string };

/** The fields of a publish request (`--type`, `--org`, `--user`, `--data`); returns the event or the problem. */
export function parseTaskServiceEvent(fields: { eventType: unknown; organizationId: unknown; userId?: unknown; data?: unknown }): TaskServiceEvent | string {
  const { eventType, organizationId, userId, data } = fields;
  if (typeof organizationId !== 'string' || organizationId.length === 0) return 'the organization id must be a non-empty string';
  if (organizationId.length > 256) return 'the organization id must be at most 256 characters';
  if (isTaskEventType(eventType)) return { eventType, organizationId, data: data ?? null };
  if (isMembershipEventType(eventType)) {
    if (typeof userId !== 'string' || userId.length === 0) return `${eventType} needs a user id`;
    return { eventType, organizationId, userId };
  }
  return 'the event type must be task.event.created, task.event.updated, organization.member.added or organization.member.removed';
}

export interface AmqpTaskPublisher {
  /** Publishes and waits for the broker's confirm. */
  publish(event: TaskServiceEvent): Promise<void>;
  close(): Promise<void>;
}

/**
 * Publishes to RabbitMQ exactly as the publisher contract asks a task service to: to the durable
 * topic exchange, routing key = event type, a persistent JSON body, `message_id`, `timestamp`
 * (seconds) and `x-published-at-ms`, on a confirm channel (opened on first use, again after a loss).
 */
export function createAmqpTaskPublisher(options: { readonly url: string; readonly exchange: string }): AmqpTaskPublisher {
  let opening: Promise<{ connection: ChannelModel; channel: ConfirmChannel }> | undefined;
  const open = (): Promise<{ connection: ChannelModel; channel: ConfirmChannel }> => {
    opening ??= (async () => {
      const connection = await connect(options.url);
      const forget = (): void => {
        opening = undefined;
      };
      connection.on('close', forget);
      connection.on('error', forget);
      const channel = await connection.createConfirmChannel();
      channel.on('close', forget);
      channel.on('error', forget);
      await channel.assertExchange(options.exchange, 'topic', { durable: true });
      return { connection, channel };
    })();
    opening.catch(() => {
      opening = undefined;
    });
    return opening;
  };
  return {
    async publish(event) {
      const { channel } = await open();
      const nowMs = Date.now();
      const body = 'userId' in event
        ? { event_type: event.eventType, organization_id: event.organizationId, user_id: event.userId, timestamp: new Date(nowMs).toISOString() }
        : { event_type: event.eventType, organization_id: event.organizationId, data: event.data, timestamp: new Date(nowMs).toISOString() };
      channel.publish(options.exchange, event.eventType, Buffer.from(JSON.stringify(body)), {
        persistent: true,
        contentType: 'application/json',
        messageId: randomUUID(),
        timestamp: Math.floor(nowMs / 1000),
        headers: { 'x-published-at-ms': nowMs },
      });
      await channel.waitForConfirms();
    },
    async close() {
      const current = opening;
      opening = undefined;
      const opened = await current?.catch(() => undefined);
      await opened?.connection.close().catch(() => undefined);
    },
  };
}
