import type { MembershipEventType, TaskEventType } from '../protocol/frames.js';

/** A validated task event, as it came from the publisher. */
export interface InboundTaskEvent {
  readonly eventType: TaskEventType;
  readonly organizationId: string;
  /** The publisher's `data`, serialised once as JSON text (sent to clients unchanged). */
  readonly dataJson: string;
  /** Publish time in ms since the epoch (AMQP `timestamp` property, or body `timestamp`), if known. */
  readonly publishedAtMs: number | undefined;
  /** The publisher's message id, if it set one. */
  readonly messageId: string | undefined;
}

export interface InboundMembershipChange {
  readonly eventType: MembershipEventType;
  readonly organizationId: string;
  readonly userId: string;
  /** When the change happened, ms since the epoch (body `timestamp`, AMQP timestamp, or receipt time). */
  readonly atMs: number;
}

/** What enters the event path, once for the whole cluster. */
export type InboundEvent =
  | { readonly kind: 'task'; readonly event: InboundTaskEvent }
  | { readonly kind: 'membership'; readonly change: InboundMembershipChange };
