import type { InboundMembershipChange, InboundTaskEvent } from './event-source.js';

/**
 * Cluster mode's broker path (see docs/architecture.md):
 *
 *   task service ─▶ <exchange> (topic) ─▶ <exchange>.ingest (quorum-free durable queue,
 *   single active consumer) ─▶ the sequencer on ONE pod: history append (id) ─▶
 *   <exchange>.routed (direct, routing key = organization id) ─▶ each pod's own queue, bound only
 *   to the organizations with a member connected to that pod ─▶ sockets.
 */

/** A sequenced event as it travels on the routed exchange and reaches sockets. */
export interface RoutedFrame {
  readonly organizationId: string;
  /** History id, increasing per organization. */
  readonly id: string;
  /** The complete client frame (a TaskEventFrame as JSON text), sent to sockets unchanged. */
  readonly frame: string;
  readonly publishedAtMs: number | undefined;
  /** When the sequencer published it to the routed exchange (ms, its clock), for the `routing` stage. */
  readonly routedAtMs?: number | undefined;
}

export interface ClusterSink {
  /**
   * Sequencing duty, first half (runs on the pod whose ingest consumer is the active one): append to
   * history, after the entry of dedupe key `after` when given (HistoryStore.append's condition), and
   * return the frame to route. A rejection retries it after a delay, in place so that later messages
   * never overtake it (history dedupes by `dedupeKey`, so a retry, or a redelivery after a failover,
   * never makes a second entry).
   */
  sequenceTask(event: InboundTaskEvent, dedupeKey: string, after: string | undefined): Promise<RoutedFrame>;
  /**
   * Second half: publish the frame with `publishRouted`. Must issue the publish before it returns
   * (frames of one organization reach the broker in the order of these calls). The ingest message
   * is acked after this resolves; a rejection retries it in place.
   */
  routeTask(frame: RoutedFrame): Promise<void>;
  /** Membership changes also enter through the ingest queue, once for the whole cluster. */
  onIngestMembership(change: InboundMembershipChange, dedupeKey: string): Promise<void>;
  /** A sequenced frame for an organization bound to this pod. Acked right after it returns. */
  onRoutedFrame(frame: RoutedFrame): void;
  /**
   * The connection came back after a loss, consumers are running again. Routed frames are transient:
   * whatever was in flight when the broker went away is re-read from history by the caller.
   */
  onReconnected?(): void;
}

export interface ClusterEventSource {
  start(sink: ClusterSink): Promise<void>;
  stop(): Promise<void>;
  /** Connected, and this pod's canary came back through the routed exchange and its own queue. */
  isReady(): boolean;
  /** Publishes a sequenced frame to the routed exchange; resolves once the broker confirmed it. */
  publishRouted(frame: RoutedFrame): Promise<void>;
  /**
   * Binds this pod's queue to the organization's routing key; resolves once the broker confirmed
   * the binding (from then on every routed frame of the organization reaches this pod). Bindings are
   * remembered and re-applied after a reconnection. Idempotent.
   */
  bindOrganization(organizationId: string): Promise<void>;
  /** Removes the binding. Idempotent. */
  unbindOrganization(organizationId: string): Promise<void>;
}
