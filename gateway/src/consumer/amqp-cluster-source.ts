import type { Channel } from 'amqplib';
import type { Config } from '../config/config.js';
import type { ClusterEventSource, ClusterSink } from './cluster-source.js';
import { declareClusterTopology } from './cluster-topology.js';
import { BrokerUnavailableError, EventSourceOptionsError, UnroutableOrganizationError } from './event-source-error.js';
import { createIngestHandler } from './ingest-handler.js';
import { createOrganizationBindings } from './organization-bindings.js';
import { createResilientAmqp, type AmqpLink, type ResilientAmqpDeps } from './resilient-amqp.js';
import { publishRoutedFrame } from './routed-frame.js';
import { createRoutedHandler } from './routed-handler.js';
import { MAX_ROUTING_KEY_BYTES, canaryRoutingKey, ingestQueueName, organizationRoutingKey, routedExchangeName } from './routing-keys.js';

export type AmqpClusterSourceOptions = NonNullable<Config['amqp']> & {
  readonly podName: string;
  /** Wait between two attempts of a failed sequencing (default 1000 ms). */
  readonly retryDelayMs?: number;
  /** Longest `stop()` waits for the handler in progress (default 5000 ms). */
  readonly stopTimeoutMs?: number;
  /** TCP connect and AMQP handshake timeout (default 10000 ms). */
  readonly connectTimeoutMs?: number;
  /** Unacked ingest messages held by the active sequencer, sequenced concurrently (default 1000: one append and one confirm round trip per message, so throughput is this window over their latency). */
  readonly ingestPrefetch?: number;
  /** Bound of the shared ingest queue (default 10 × queueMaxLength); beyond it publishes are refused. */
  readonly ingestMaxLength?: number;
  /** Longest a bind or unbind waits for a broker connection (default 10000 ms). */
  readonly bindTimeoutMs?: number;
};

export type AmqpClusterSourceDeps = ResilientAmqpDeps;

interface ClusterLink extends AmqpLink {
  /** Binding changes of the pod queue: off the consumers' and publisher's channels. */
  readonly control: Channel;
}

/**
 * Cluster mode's broker path (see cluster-source.ts for the picture), over the shared connection
 * machinery of resilient-amqp.ts. On each (re)connection: the topology of cluster-topology.ts; the
 * remembered organization bindings re-applied (organization-bindings.ts); two consumers on their
 * own channels, prefetch and sequential pipeline each: the pod queue (routed-handler.ts, prefetch
 * `prefetch`) and the ingest queue (ingest-handler.ts, prefetch `ingestPrefetch`), of which only
 * the broker's single active consumer, on one pod, receives anything.
 *
 * Readiness: connected, and this pod's canary came back through the routed exchange and its
 * queue: the path every frame for its sockets takes.
 */
export function createAmqpClusterSource(options: AmqpClusterSourceOptions, deps: AmqpClusterSourceDeps): ClusterEventSource {
  const ingestPrefetch = positiveInteger('ingestPrefetch', options.ingestPrefetch ?? 1000, 65_535);
  const ingestMaxLength = positiveInteger('ingestMaxLength', options.ingestMaxLength ?? options.queueMaxLength * 10, 2 ** 31 - 1);
  const bindTimeoutMs = positiveInteger('bindTimeoutMs', options.bindTimeoutMs ?? 10_000, 3_600_000);
  const canaryKey = canaryRoutingKey(options.podName);
  if (Buffer.byteLength(canaryKey, 'utf8') > MAX_ROUTING_KEY_BYTES) throw new EventSourceOptionsError(`podName makes a canary routing key longer than ${MAX_ROUTING_KEY_BYTES} bytes`);
  const { logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const routedExchange = routedExchangeName(options.exchange);
  const ingestQueue = ingestQueueName(options.exchange);

  const amqp = createResilientAmqp<ClusterSink, ClusterLink>({ ...options, canaryExchange: routedExchange }, deps, async (session, sink) => {
    await declareClusterTopology(session.model, { ...options, ingestMaxLength }, logger, session.first);
    const link: ClusterLink = { control: await session.openChannel('bindings'), publisher: await session.openConfirmChannel('publisher') };
    await bindings.restore(link);
    const pod = await session.openChannel('pod consumer');
    await pod.prefetch(options.prefetch);
    await session.consume('pod', pod, options.queueName, (message) => handleRouted(pod, message, sink));
    const ingest = await session.openChannel('ingest consumer');
    await ingest.prefetch(ingestPrefetch);
    await session.consume('ingest', ingest, ingestQueue, (message) => ingestHandler.handle(ingest, message, sink, session.isCurrent));
    if (!session.first) sink.onReconnected?.();
    return link;
  }, () => ingestHandler.drained());
  const handleRouted = createRoutedHandler({ podName: options.podName, logger, metrics, now, onCanary: amqp.canaryReceived });
  const ingestHandler = createIngestHandler({ retryDelayMs: options.retryDelayMs ?? 1_000, logger, metrics, now, sleep: amqp.sleep, window: ingestPrefetch });
  const bindings = createOrganizationBindings<ClusterLink>({
    connected: (timeoutMs) => amqp.whenConnected(timeoutMs),
    isLive: (link) => amqp.link() === link,
    bind: async (link, organizationId) => {
      await link.control.bindQueue(options.queueName, routedExchange, organizationRoutingKey(organizationId));
    },
    // The canary binding is the readiness path: an organization named like it never removes it.
    unbind: async (link, organizationId) => {
      const key = organizationRoutingKey(organizationId);
      if (key !== canaryKey) await link.control.unbindQueue(options.queueName, routedExchange, key);
    },
  }, { timeoutMs: bindTimeoutMs, now });

  return {
    start: (sink) => amqp.start(sink),
    stop: () => amqp.stop(),
    isReady: () => amqp.isReady(),
    async publishRouted(frame) {
      assertRoutable(frame.organizationId);
      const link = amqp.link();
      if (link === undefined) throw new BrokerUnavailableError('not connected to the broker; the routed frame was not published');
      await publishRoutedFrame(link.publisher, routedExchange, frame);
    },
    async bindOrganization(organizationId) {
      assertRoutable(organizationId);
      await bindings.bind(organizationId);
    },
    async unbindOrganization(organizationId) {
      assertRoutable(organizationId);
      await bindings.unbind(organizationId);
    },
  };
}

function assertRoutable(organizationId: string): void {
  if (organizationId === '') throw new UnroutableOrganizationError('organization id is empty');
}

function positiveInteger(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new EventSourceOptionsError(`${name} must be an integer from 1 to ${max}, got ${value}`);
  return value;
}
