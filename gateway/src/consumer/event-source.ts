import type { MembershipEventType, TaskEventType } from '../protocol/frames.js';

/** A validated task event, as it came from the publisher. */
export interface InboundTaskEvent {
  readonly eventType: TaskEventType;
  readonly organizationId: string;
  /** The publisher's `data`, unchanged. */
  readonly data: unknown;
  /** Publish time in ms since the epoch (AMQP `timestamp` property, or body `timestamp`), if known. */
  readonly publishedAtMs: number | undefined;
  /** AMQP message id, if the publisher set one. */
  readonly messageId: string | undefined;
}

export interface InboundMembershipChange {
  readonly eventType: MembershipEventType;
  readonly organizationId: string;
  readonly userId: string;
  /** When the change happened, ms since the epoch (body `timestamp`, AMQP timestamp, or receipt time). */
  readonly atMs: number;
}

/**
 * Receives what an EventSource delivers. A returned promise delays the acknowledgement; a rejection
 * means "try again later" (the message is requeued), never "bad message" (those never reach the sink).
 */
export interface EventSink {
  onTaskEvent(event: InboundTaskEvent): void | Promise<void>;
  onMembershipChange(change: InboundMembershipChange): void | Promise<void>;
}

/** Where events come from: RabbitMQ in production, an in-process queue in embedded mode. */
export interface EventSource {
  start(sink: EventSink): Promise<void>;
  /** Cancels consumption and closes connections. Idempotent. */
  stop(): Promise<void>;
  /** True while connected and proven to receive (canary seen within the interval). */
  isReady(): boolean;
}
