import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRIC_PREFIX = 'orgcast_';

export type RefusalReason =
  | 'unauthorized'
  | 'forbidden_origin'
  | 'rate_limited'
  | 'user_limit'
  | 'at_capacity'
  | 'feed_unavailable'
  | 'store_unavailable'
  | 'draining'
  | 'auth_unavailable';

export type CloseReason =
  | 'client'
  | 'slow_consumer'
  | 'heartbeat_timeout'
  | 'rate_limited'
  | 'token_expired'
  | 'protocol_violation'
  | 'revoked'
  | 'user_limit'
  | 'rebalance'
  | 'shutdown'
  | 'internal_error';

/** Where an unexpected exception was caught (and contained to one socket or request). */
export type HandlerName = 'upgrade' | 'open' | 'message' | 'close' | 'http' | 'catch_up' | 'feed' | 'membership';

export type AuthFailureReason =
  | 'missing'
  | 'too_large'
  | 'malformed'
  | 'bad_signature'
  | 'unknown_key'
  | 'key_unavailable'
  | 'expired'
  | 'not_yet_valid'
  | 'claims'
  | 'stale';

export type DeadLetterReason = 'malformed_json' | 'missing_organization' | 'invalid_shape' | 'unknown_event_type' | 'too_large';

/**
 * Stages of an event's way through a cluster (docs/architecture.md): `ingest_wait` publish → the
 * sequencer receives it from the ingest queue; `sequencing` received → its routed frame published
 * (room in the sequencer's window, the history append, the frames before it); `routing` routed
 * publish → a pod receives it from its own queue. The rest, receive → socket send, is the fan-out.
 */
export type EventStage = 'ingest_wait' | 'sequencing' | 'routing';

/** Seconds an event spent in one stage. */
export interface StageTimer {
  observe(stage: EventStage, seconds: number): void;
}

/** Buckets of the latency histograms, in seconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** One label set, every label required: a counter cannot be bumped with a forgotten label. */
export interface Labelled<L extends string> {
  inc(labels: Record<L, string>, value?: number): void;
}

function labelled<L extends string>(counter: Counter<L>, zeros: ReadonlyArray<Record<L, string>> = []): Labelled<L> {
  // Series that alerts read exist from the start (at zero), so increase() over them is defined.
  for (const labels of zeros) counter.inc(labels, 0);
  return { inc: (labels, value = 1) => counter.inc(labels, value) };
}

const EVENT_STAGES: readonly EventStage[] = ['ingest_wait', 'sequencing', 'routing'];

/** Every stage's series exists from the start (at zero), so rates over it are defined at once. */
function stageTimer(histogram: Histogram<'stage'>): StageTimer {
  for (const stage of EVENT_STAGES) histogram.zero({ stage });
  return { observe: (stage, seconds) => histogram.observe({ stage }, Math.max(0, seconds)) };
}

/** All gateway metrics, on an injected registry (never the global one). */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly connections: Gauge;
  readonly maxConnections: Gauge;
  readonly ready: Gauge;
  readonly connectionsAccepted: Counter;
  readonly connectionsRefused: Labelled<'reason'>;
  readonly connectionsClosed: Labelled<'reason'>;
  readonly authFailures: Labelled<'reason'>;
  readonly clientMessages: Labelled<'event_type'>;
  readonly clientErrors: Labelled<'code'>;
  readonly tokenRefreshes: Labelled<'result'>;
  readonly eventsConsumed: Labelled<'event_type'>;
  readonly eventsDelivered: Counter;
  readonly eventsDeadLettered: Labelled<'reason'>;
  readonly deliveriesPerEvent: Histogram;
  readonly deliveryLatency: Histogram;
  readonly eventStages: StageTimer;
  readonly membershipChanges: Labelled<'change'>;
  readonly lateRemovals: Counter;
  readonly commandFenceWaits: Counter;
  readonly commandFenceTimeouts: Counter;
  readonly brokerConnected: Gauge;
  readonly brokerReconnects: Counter;
  readonly redisConnected: Gauge;
  readonly redisReconnects: Counter;
  readonly canaryAge: Gauge;
  readonly eventsSequenced: Labelled<'result'>;
  readonly eventsDuplicateDropped: Counter;
  readonly contentRedeliveryMatches: Counter;
  readonly organizationsBound: Gauge;
  readonly resumes: Labelled<'recovered'>;
  readonly pollRequests: Labelled<'result'>;
  readonly commandsReceived: Labelled<'type'>;
  readonly livePods: Gauge;
  readonly brokerDeliveries: Counter;
  readonly handlerErrors: Labelled<'handler'>;
  readonly podQueueOverflow: Counter;
  readonly feedRepairs: Labelled<'result'>;
  readonly feedRepairedFrames: Counter;
  readonly catchUps: Labelled<'outcome'>;
  readonly storeLosses: Counter;
  readonly ingestQueueMessages: Gauge;
  readonly ingestOldestInFlight: Gauge;
  readonly historyAppendFailures: Counter;
}

export function createMetrics(options: { registry?: Registry; defaultLabels?: Record<string, string>; collectDefaults?: boolean } = {}): GatewayMetrics {
  const registry = options.registry ?? new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.collectDefaults !== false) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX, eventLoopMonitoringPrecision: 20 });
  const registers = [registry];
  const p = METRIC_PREFIX;
  return {
    registry,
    connections: new Gauge({ name: `${p}connections`, help: 'Open WebSocket connections on this pod.', registers }),
    maxConnections: new Gauge({ name: `${p}max_connections`, help: 'Configured MAX_CONNECTIONS of this pod.', registers }),
    ready: new Gauge({ name: `${p}ready`, help: '1 when the pod reports ready on /readyz.', registers }),
    connectionsAccepted: new Counter({ name: `${p}connections_accepted_total`, help: 'WebSocket upgrades accepted.', registers }),
    connectionsRefused: labelled(new Counter({ name: `${p}connections_refused_total`, help: 'WebSocket upgrades refused, by reason.', labelNames: ['reason'] as const, registers })),
    connectionsClosed: labelled(new Counter({ name: `${p}connections_closed_total`, help: 'WebSocket connections closed, by reason.', labelNames: ['reason'] as const, registers })),
    authFailures: labelled(new Counter({ name: `${p}auth_failures_total`, help: 'Token verification failures, by reason.', labelNames: ['reason'] as const, registers })),
    clientMessages: labelled(new Counter({ name: `${p}client_messages_total`, help: 'Frames received from clients, by event type.', labelNames: ['event_type'] as const, registers })),
    clientErrors: labelled(new Counter({ name: `${p}client_errors_total`, help: 'Error frames sent to clients, by code.', labelNames: ['code'] as const, registers })),
    tokenRefreshes: labelled(new Counter({ name: `${p}token_refreshes_total`, help: 'In-band token refreshes (auth.refresh) of live connections, by result: refreshed, refused.', labelNames: ['result'] as const, registers }), [{ result: 'refreshed' }, { result: 'refused' }]),
    eventsConsumed: labelled(new Counter({ name: `${p}events_consumed_total`, help: 'Valid events consumed from the broker, by event type.', labelNames: ['event_type'] as const, registers })),
    eventsDelivered: new Counter({ name: `${p}events_delivered_total`, help: 'Event frames handed to sockets (one per receiving connection).', registers }),
    eventsDeadLettered: labelled(new Counter({ name: `${p}events_dead_lettered_total`, help: 'Broker messages rejected to the dead-letter exchange, by reason.', labelNames: ['reason'] as const, registers })),
    deliveriesPerEvent: new Histogram({ name: `${p}deliveries_per_event`, help: 'Connections that received each consumed task event.', buckets: [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 10000], registers }),
    deliveryLatency: new Histogram({ name: `${p}delivery_latency_seconds`, help: 'Publish (AMQP timestamp) to socket send, in seconds.', buckets: LATENCY_BUCKETS, registers }),
    eventStages: stageTimer(new Histogram({ name: `${p}event_stage_seconds`, help: 'Seconds an event spent in each stage of the cluster path: ingest_wait (publish to the sequencer receiving it), sequencing (received to routed publish), routing (routed publish to this pod receiving it).', labelNames: ['stage'] as const, buckets: LATENCY_BUCKETS, registers })),
    membershipChanges: labelled(new Counter({ name: `${p}membership_changes_total`, help: 'Membership events applied, by change (added, removed).', labelNames: ['change'] as const, registers })),
    lateRemovals: new Counter({ name: `${p}membership_late_removals_total`, help: 'Removals this pod heard after it had already delivered events past their position to the removed member (its command reader behind the routed path).', registers }),
    commandFenceWaits: new Counter({ name: `${p}command_fence_waits_total`, help: 'Times a feed held routed frames until this pod had applied a cluster command (a membership change) sequenced before them: its command reader was behind the broker.', registers }),
    commandFenceTimeouts: new Counter({ name: `${p}command_fence_timeouts_total`, help: 'Waits for this pod\'s command reader that ended by their timeout (the reader could not read the command stream); the frames went out without it.', registers }),
    brokerConnected: new Gauge({ name: `${p}broker_connected`, help: '1 while the RabbitMQ connection and channel are open.', registers }),
    brokerReconnects: new Counter({ name: `${p}broker_reconnects_total`, help: 'RabbitMQ reconnections after a loss.', registers }),
    redisConnected: new Gauge({ name: `${p}redis_connected`, help: '1 while the Redis connection is ready.', registers }),
    redisReconnects: new Counter({ name: `${p}redis_reconnects_total`, help: 'Redis reconnection attempts.', registers }),
    canaryAge: new Gauge({ name: `${p}consumer_canary_age_seconds`, help: 'Seconds since this pod last received its own readiness canary through the broker.', registers }),
    eventsSequenced: labelled(new Counter({ name: `${p}events_sequenced_total`, help: 'Events given a history id by this pod (result: appended, duplicate).', labelNames: ['result'] as const, registers }), [{ result: 'appended' }, { result: 'duplicate' }]),
    eventsDuplicateDropped: new Counter({ name: `${p}events_duplicates_dropped_total`, help: 'Routed frames dropped because their id was already delivered (redeliveries).', registers }),
    contentRedeliveryMatches: new Counter({ name: `${p}events_content_redelivery_matches_total`, help: 'Redeliveries without message_id taken for a stored entry with the same content (its own, or a byte-identical twin\'s: publish with message_id to tell them apart).', registers }),
    organizationsBound: new Gauge({ name: `${p}organizations_bound`, help: 'Organizations whose events this pod receives from the broker.', registers }),
    resumes: labelled(new Counter({ name: `${p}resumes_total`, help: 'Per-organization resumptions on connect, by whether the history reached back.', labelNames: ['recovered'] as const, registers })),
    pollRequests: labelled(new Counter({ name: `${p}poll_requests_total`, help: 'Long-poll requests answered, by result (events, empty, refused).', labelNames: ['result'] as const, registers })),
    commandsReceived: labelled(new Counter({ name: `${p}cluster_commands_total`, help: 'Cross-pod commands applied, by type.', labelNames: ['type'] as const, registers })),
    brokerDeliveries: new Counter({ name: `${p}broker_deliveries_total`, help: 'Sequenced frames this pod received from the broker (its own queue).', registers }),
    podQueueOverflow: new Counter({ name: `${p}pod_queue_overflow_total`, help: 'Routed frames a pod queue dropped because it was full (counted by whichever pod consumed the overflow queue); the pod repairs them from history.', registers }),
    feedRepairs: labelled(new Counter({ name: `${p}feed_repairs_total`, help: 'Feeds that read history to deliver what they missed, by result: repaired (a gap in the prev chain), synced (after a reconnection or a removal), checked_behind (the periodic check found the feed behind history), resync (events gone from history: subscribers told to resync).', labelNames: ['result'] as const, registers }), ['repaired', 'synced', 'checked_behind', 'resync'].map((result) => ({ result }))),
    feedRepairedFrames: new Counter({ name: `${p}feed_repaired_frames_total`, help: 'Frames feeds delivered from history instead of the routed path.', registers }),
    catchUps: labelled(new Counter({ name: `${p}catch_ups_total`, help: 'Per-organization catch-ups of connections (replay, then live), by outcome: live, stopped (a removal took effect during it), failed (the connection was closed to resume).', labelNames: ['outcome'] as const, registers })),
    storeLosses: new Counter({ name: `${p}store_data_losses_total`, help: 'Times this pod saw the shared store (Redis) lose its data: a restart without persistence, a failover that lagged, a restore from an older snapshot.', registers }),
    ingestQueueMessages: new Gauge({ name: `${p}ingest_queue_messages`, help: 'Messages waiting in the ingest queue (not yet delivered to the active sequencer), as this pod last saw it.', registers }),
    ingestOldestInFlight: new Gauge({ name: `${p}ingest_oldest_in_flight_seconds`, help: 'Age of the oldest ingest message this pod is sequencing (0 when none): the active sequencer is stuck when it grows.', registers }),
    historyAppendFailures: new Counter({ name: `${p}history_append_failures_total`, help: 'History appends that failed (Redis down, out of memory, timed out) and are retried in place.', registers }),
    handlerErrors: labelled(new Counter({ name: `${p}handler_errors_total`, help: 'Unexpected exceptions caught in a socket or HTTP handler (the socket got 1011, the request 500), a catch-up (the connection closes with 1013) or a feed repair, by handler.', labelNames: ['handler'] as const, registers })),
    livePods: new Gauge({ name: `${p}cluster_live_pods`, help: 'Gateway pods this pod sees alive.', registers }),
  };
}
