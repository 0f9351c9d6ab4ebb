import type { DevPublishMessage } from '../dev/dev-publish-message.js';
import type { InboundEvent } from './inbound-event.js';
import type { RoutedFrame } from './routed-frame.js';

/**
 * One message of the ingest stream, as the sequencing pipeline sees it: validated, with what
 * identifies it across redeliveries, and a way to say it is done.
 */
export interface IngestMessage {
  readonly body: InboundEvent;
  /** Identifies the message across redeliveries: the publisher's message id, or a hash of it. */
  readonly dedupeKey: string;
  /**
   * `check`: a known dedupe key is a duplicate (the publisher's id, or a redelivery). `record`: the
   * message is seen for the first time and cannot be a duplicate, whatever its content.
   */
  readonly dedupe: 'check' | 'record';
  readonly receivedAtMs: number;
  /** For logs only. */
  readonly messageId: string | undefined;
  /** The message is done with (sequenced and routed, or recorded): the source may forget it. */
  ack(): void;
}

/**
 * The ingest stream of one connection. `handle` resolves once there is room for the next message
 * (the message itself may still be in flight); `drained` once every message is done or given up.
 */
export interface IngestRun {
  handle(message: IngestMessage): Promise<void>;
  drained(): Promise<void>;
}

export interface IngestRunContext {
  /** This run's connection is still the live one: its acks can still land. */
  readonly isCurrent: () => boolean;
  /** Waits `ms`; resolves false at once when the source stops. */
  readonly sleep: (ms: number) => Promise<boolean>;
}

/** Where the ingest stream goes: a fresh run per connection, so no state leaks across them. */
export interface IngestConsumer {
  open(context: IngestRunContext): IngestRun;
}

/** Where routed frames arrive on this pod. */
export interface RoutedSink {
  /** A frame of an organization bound to this pod. */
  onFrame(frame: RoutedFrame): void;
  /** The routed path was down and is back: frames in flight then may be lost; history has them. */
  onReconnected(): void;
}

/** How a pod subscribes to the routed frames of an organization. */
export interface FeedBinder {
  /** Resolves once every later routed frame of the organization reaches this pod. Idempotent. */
  bindOrganization(organizationId: string): Promise<void>;
  unbindOrganization(organizationId: string): Promise<void>;
}

/**
 * The event path's transport, the same shape in both modes: RabbitMQ in a cluster, in-process in
 * the embedded node. The ingest stream enters once for the cluster (one active consumer); routed
 * frames go to every pod bound to their organization.
 */
export interface EventTransport extends FeedBinder {
  start(ingest: IngestConsumer, routed: RoutedSink): Promise<void>;
  stop(): Promise<void>;
  /** Connected, and this pod's routed path proven (canary). */
  isReady(): boolean;
  /**
   * Publishes a sequenced frame to the pods; resolves once the transport confirmed it. The publish
   * is issued before this returns: frames reach the pods in the order of these calls.
   */
  publishRouted(frame: RoutedFrame): Promise<void>;
  /** Publishes an event into the ingest stream the way the task service does (development endpoint). */
  publishInbound(message: DevPublishMessage): Promise<void>;
}
