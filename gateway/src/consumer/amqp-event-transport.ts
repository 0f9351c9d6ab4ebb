import type { Channel } from 'amqplib';
import type { Config } from '../config/config.js';
import type { EventTransport, IngestConsumer, IngestRun, RoutedSink } from '../events/event-transport.js';
import { publishEvent, publishMembershipChange } from './amqp-publisher.js';
import { declareClusterTopology } from './cluster-topology.js';
import { BrokerUnavailableError, EventSourceOptionsError, EventSourceStateError, UnroutableOrganizationError } from './event-source-error.js';
import { createIngestDelivery } from './ingest-delivery.js';
import { createOrganizationBindings } from './organization-bindings.js';
import { createOverflowHandler } from './overflow-handler.js';
import { createResilientAmqp, type AmqpLink, type ResilientAmqpDeps } from './resilient-amqp.js';
import { publishRoutedFrame } from './routed-frame.js';
import { createRoutedHandler } from './routed-handler.js';
import { MAX_ROUTING_KEY_BYTES, canaryRoutingKey, ingestQueueName, organizationRoutingKey, overflowQueueName, routedExchangeName } from './routing-keys.js';

export type AmqpEventTransportOptions = NonNullable<Config['amqp']> & {
  readonly podName: string;
  /** Larger ingest messages are dead-lettered (MAX_EVENT_BYTES). */
  readonly maxEventBytes: number;
  /** Unacked ingest messages held by the active sequencer, sequenced concurrently (default 1000: one append and one confirm round trip per message, so throughput is this window over their latency). */
  readonly ingestPrefetch?: number;
  /** Bound of the shared ingest queue (default 10 × queueMaxLength); beyond it publishes are refused. */
  readonly ingestMaxLength?: number;
  /** Longest a bind or unbind waits for a broker connection (default 10000 ms). */
  readonly bindTimeoutMs?: number;
  /** Longest `stop()` waits for the handler in progress (default 5000 ms). */
  readonly stopTimeoutMs?: number;
  /** TCP connect and AMQP handshake timeout (default 10000 ms). */
  readonly connectTimeoutMs?: number;
};

export type AmqpEventTransportDeps = ResilientAmqpDeps;

const INGEST_DEPTH_INTERVAL_MS = 5_000;

interface TransportLink extends AmqpLink {
  /** Binding changes of the pod queue: off the consumers' and publisher's channels. */
  readonly control: Channel;
}

/**
 * The cluster's event transport over RabbitMQ (docs/architecture.md), on the shared connection
 * machinery of resilient-amqp.ts. On each (re)connection: the topology of cluster-topology.ts; the
 * remembered organization bindings re-applied (organization-bindings.ts); three consumers on their
 * own channels: the pod queue (routed-handler.ts, prefetch `prefetch`), the ingest queue
 * (ingest-delivery.ts into a fresh run of the sequencing pipeline, prefetch `ingestPrefetch`, of
 * which only the broker's single active consumer, on one pod, receives anything), and the shared
 * overflow queue (overflow-handler.ts: what pod queues dropped, counted).
 *
 * Readiness: connected, and this pod's canary came back through the routed exchange and its
 * queue: the path every frame for its sockets takes.
 */
export function createAmqpEventTransport(options: AmqpEventTransportOptions, deps: AmqpEventTransportDeps): EventTransport {
  const ingestPrefetch = positiveInteger('ingestPrefetch', options.ingestPrefetch ?? 1000, 65_535);
  const ingestMaxLength = positiveInteger('ingestMaxLength', options.ingestMaxLength ?? options.queueMaxLength * 10, 2 ** 31 - 1);
  const bindTimeoutMs = positiveInteger('bindTimeoutMs', options.bindTimeoutMs ?? 10_000, 3_600_000);
  const canaryKey = canaryRoutingKey(options.podName);
  if (Buffer.byteLength(canaryKey, 'utf8') > MAX_ROUTING_KEY_BYTES) throw new EventSourceOptionsError(`podName makes a canary routing key longer than ${MAX_ROUTING_KEY_BYTES} bytes`);
  const { logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const routedExchange = routedExchangeName(options.exchange);
  const ingestQueue = ingestQueueName(options.exchange);
  /** Runs whose work may still be in flight (a stop waits for them). */
  const runs = new Set<IngestRun>();
  let consumers: { readonly ingest: IngestConsumer; readonly routed: RoutedSink } | undefined;

  const amqp = createResilientAmqp<RoutedSink, TransportLink>({ ...options, canaryExchange: routedExchange }, deps, async (session, routed) => {
    const ingestConsumer = consumers?.ingest;
    if (ingestConsumer === undefined) throw new EventSourceStateError('connecting before start');
    await declareClusterTopology(session.model, { ...options, ingestMaxLength }, logger, session.first);
    const link: TransportLink = { control: await session.openChannel('bindings'), publisher: await session.openConfirmChannel('publisher') };
    await bindings.restore(link);
    const pod = await session.openChannel('pod consumer');
    await pod.prefetch(options.prefetch);
    await session.consume('pod', pod, options.queueName, (message) => handleRouted(pod, message, routed));
    const overflow = await session.openChannel('overflow consumer');
    await overflow.prefetch(100);
    await session.consume('overflow', overflow, overflowQueueName(options.exchange), (message) => handleOverflow(overflow, message, link.publisher));
    const ingest = await session.openChannel('ingest consumer');
    await ingest.prefetch(ingestPrefetch);
    // The runs of earlier connections give up what they hold; forget each once it has.
    for (const old of runs) void old.drained().then(() => runs.delete(old));
    const run = ingestConsumer.open({ isCurrent: session.isCurrent, sleep: amqp.sleep });
    runs.add(run);
    await session.consume('ingest', ingest, ingestQueue, (message) => ingestDelivery(ingest, message, run));
    if (!session.first) routed.onReconnected();
    return link;
  }, async () => {
    await Promise.all([...runs].map((run) => run.drained()));
  });
  const handleRouted = createRoutedHandler({ podName: options.podName, logger, metrics, now, onCanary: amqp.canaryReceived });
  const handleOverflow = createOverflowHandler({ deadLetterExchange: options.deadLetterExchange, logger, metrics });
  const ingestDelivery = createIngestDelivery({ maxEventBytes: options.maxEventBytes, logger, metrics, now });
  const bindings = createOrganizationBindings<TransportLink>({
    connected: (timeoutMs) => amqp.whenConnected(timeoutMs),
    isLive: (link) => amqp.link() === link,
    bind: async (link, organizationId) => {
      await link.control.bindQueue(options.queueName, routedExchange, organizationRoutingKey(organizationId));
    },
    // The canary binding is the readiness path: an organization routed like it never removes it.
    unbind: async (link, organizationId) => {
      const key = organizationRoutingKey(organizationId);
      if (key !== canaryKey) await link.control.unbindQueue(options.queueName, routedExchange, key);
    },
  }, { timeoutMs: bindTimeoutMs, now });

  const liveLink = (what: string): TransportLink => {
    const link = amqp.link();
    if (link === undefined) throw new BrokerUnavailableError(`not connected to the broker; ${what} was not published`);
    return link;
  };

  /** The ingest queue's depth, for the "sequencer stuck while messages wait" alert. */
  let depthTimer: NodeJS.Timeout | undefined;
  const sampleIngestDepth = (): void => {
    amqp.link()?.control.checkQueue(ingestQueue).then(
      (queue) => metrics.ingestQueueMessages.set(queue.messageCount),
      (error: unknown) => logger.debug({ err: error }, 'could not read the ingest queue depth'),
    );
  };

  return {
    start: async (ingest, routed) => {
      consumers = { ingest, routed };
      await amqp.start(routed);
      depthTimer = setInterval(sampleIngestDepth, INGEST_DEPTH_INTERVAL_MS);
      depthTimer.unref();
    },
    stop: () => {
      clearInterval(depthTimer);
      return amqp.stop();
    },
    isReady: () => amqp.isReady(),
    async publishRouted(frame) {
      assertOrganization(frame.organizationId);
      await publishRoutedFrame(liveLink('the routed frame').publisher, routedExchange, frame);
    },
    async publishInbound(message) {
      const { publisher } = liveLink('the event');
      if ('userId' in message) publishMembershipChange(publisher, options.exchange, message);
      else publishEvent(publisher, options.exchange, message, { maxBytes: options.maxEventBytes });
      await publisher.waitForConfirms();
    },
    async bindOrganization(organizationId) {
      assertOrganization(organizationId);
      await bindings.bind(organizationId);
    },
    async unbindOrganization(organizationId) {
      assertOrganization(organizationId);
      await bindings.unbind(organizationId);
    },
  };
}

function assertOrganization(organizationId: string): void {
  if (organizationId === '') throw new UnroutableOrganizationError('organization id is empty');
}

function positiveInteger(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new EventSourceOptionsError(`${name} must be an integer from 1 to ${max}, got ${value}`);
  return value;
}
