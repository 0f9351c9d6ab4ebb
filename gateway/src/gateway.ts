import type { Logger } from 'pino';
import { createAdmission } from './admission/admission.js';
import { createAdminRoutes } from './admin/admin-routes.js';
import type { TokenVerifier } from './auth/principal.js';
import { createTokenVerifier } from './auth/token-verifier.js';
import { createClusterMember, type ClusterMember } from './cluster/cluster-member.js';
import { createCommandHandler } from './cluster/command-handler.js';
import { fencedHistory } from './cluster/fenced-history.js';
import type { HistoryStore } from './history/history-store.js';
import { createDiscovery } from './cluster/create-discovery.js';
import { createPodDeletionCostUpdater } from './cluster/create-pod-deletion-cost.js';
import type { Config } from './config/config.js';
import { createDevPublishRoute } from './dev/dev-publish-route.js';
import type { EventTransport } from './events/event-transport.js';
import { createHealthRoutes } from './health/health-routes.js';
import { evaluateReadiness, type ReadinessCheck, type ReadinessReport } from './health/readiness.js';
import type { HttpRoute } from './http/http-exchange.js';
import { CapacityGate } from './lifecycle/capacity-gate.js';
import { drainSessions } from './lifecycle/drain.js';
import { createClientAddressResolver } from './limits/client-address.js';
import { createConnectRateLimiter } from './limits/connect-rate-limiter.js';
import { createMetricsRoute } from './metrics/metrics-route.js';
import { createMetrics, type GatewayMetrics } from './metrics/metrics.js';
import { PollCors } from './poll/poll-cors.js';
import { createPollRoutes } from './poll/poll-route.js';
import { CloseCode } from './protocol/close-codes.js';
import { OrganizationFeeds } from './routing/organization-feeds.js';
import { createSequencingPipeline } from './sequencing/sequencing-pipeline.js';
import { Sequencer } from './sequencing/sequencer.js';
import { createConnectFlow, type UserSlots } from './session/connect-flow.js';
import { ConnectionManager } from './session/connection-manager.js';
import { createTokenRefresher } from './session/token-refresh.js';
import { organizationTopic, type TopicBroadcaster } from './session/socket-port.js';
import { backoffDelay } from './retry/backoff.js';
import { loadOrCreateDevSecret } from './tools/dev-token.js';
import { createHandlerFaults, type HandlerFaults } from './transport/handler-faults.js';
import { createManagementServer, type ManagementServer } from './transport/management-server.js';
import { createPublicServer, type PublicServer } from './transport/public-server.js';
import { defaultEventTransport, type EventTransportFactory } from './wiring/event-transport.js';
import { defaultStores, type Stores, type StoresFactory } from './wiring/stores.js';

export interface GatewayDeps {
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
  /** The shared state (default: Redis when REDIS_URL is set, else memory). */
  readonly stores?: StoresFactory;
  /** The event transport (default: RabbitMQ when AMQP_URL is set, else in-process). */
  readonly transport?: EventTransportFactory;
}

export interface Gateway {
  readonly metrics: GatewayMetrics;
  readonly connections: ConnectionManager;
  /** Binds both ports and starts consuming. Resolves with the bound ports. */
  start(): Promise<{ port: number; managementPort: number }>;
  /** Graceful stop: not ready, drain in jittered batches, close dependencies in reverse order. */
  stop(): Promise<void>;
  readiness(): Promise<ReadinessReport>;
}

const SWEEP_INTERVAL_MS = 1_000;
const READINESS_TIMEOUT_MS = 1_000;
const CATCH_UP_PAGE = 1_000;
/**
 * Ingest messages sequenced at once (one history append and one routed confirm round trip each, so
 * throughput is this window over their latency; measured in BENCHMARKS.md).
 */
const INGEST_WINDOW = 1_000;

/** State the parts read while the gateway runs. */
interface Lifecycle {
  draining: boolean;
}

/**
 * Composition root: stores → event path → connections → servers → cluster. The embedded single
 * node and a cluster pod are wired the same way; only the factories' implementations differ.
 */
export async function createGateway(config: Config, deps: GatewayDeps): Promise<Gateway> {
  const { logger } = deps;
  const metrics = deps.metrics ?? createMetrics({ defaultLabels: { pod: config.podName } });
  const faults = createHandlerFaults(logger, metrics);
  const lifecycle: Lifecycle = { draining: false };
  const verifier = await buildVerifier(config, logger);
  const stores = (deps.stores ?? defaultStores)(config, { logger, metrics });
  const transport = (deps.transport ?? defaultEventTransport)(config, { logger, metrics });

  // The public port first: its sockets' topics are what the feeds publish to.
  const server = createPublicServer({
    host: config.server.host,
    port: config.server.port,
    maxPayloadBytes: config.server.maxPayloadBytes,
    maxBackpressureBytes: config.server.maxBackpressureBytes,
    heartbeatTimeoutMs: config.server.heartbeatTimeoutMs,
    logger,
    faults,
  });
  // What connections are sent from history waits, like the routed frames, for the cluster commands before it.
  const delivered = fencedHistory(stores.history, stores.commands.fence);
  const feeds = new OrganizationFeeds(transport, server.broadcaster, delivered, stores.commands.fence, metrics, logger, config.feeds);
  const manager = buildConnections(config, verifier, stores, delivered, feeds, server.broadcaster, metrics, logger);
  const pipeline = createSequencingPipeline(new Sequencer(stores.history, stores.membership, stores.commands, metrics, logger), transport, {
    retryDelayMs: 1_000,
    window: INGEST_WINDOW,
    logger,
    metrics,
    now: Date.now,
  });
  server.serve({
    connect: buildConnectFlow(config, verifier, stores, delivered, feeds, manager, lifecycle, metrics, logger),
    manager,
    routes: buildPublicRoutes(config, verifier, stores, feeds, transport, lifecycle, metrics, logger),
  });
  const member = await buildClusterMember(config, stores, manager, metrics, logger);
  const storeLoss = (): ReturnType<typeof storeLossOf> => storeLossOf(config, stores);
  const readiness = buildReadiness(config, server, transport, stores, manager, lifecycle, metrics);
  const management = buildManagementServer(config, stores, readiness, faults, logger, metrics);

  let timers: NodeJS.Timeout[] = [];
  let stopping: Promise<void> | undefined;
  let checkingEpoch: Promise<void> | undefined;

  /** Whether the store lost its data since the last look; if so, nothing from before it is trusted. */
  function checkEpoch(): Promise<void> {
    checkingEpoch ??= stores.epoch.check().then(async (lost) => {
      if (!lost) return;
      metrics.storeLosses.inc();
      logger.error({ sinceMs: stores.epoch.sinceMs() }, 'the shared store lost its data: clients told to resync, tokens issued before it refused until the revocation TTL has passed, presence restored');
      feeds.storeLost();
      await stores.presence.restore(config.podName, manager.userCounts());
    }).finally(() => {
      checkingEpoch = undefined;
    });
    return checkingEpoch;
  }

  async function start(): Promise<{ port: number; managementPort: number }> {
    const managementPort = await management.listen();
    await checkEpoch();
    await stores.commands.start(createCommandHandler(manager, metrics, logger, {
      checkStore: checkEpoch,
      storeRecentlyLost: () => storeLoss() !== undefined,
      retryDelayMs: (attempt) => backoffDelay(attempt, { minMs: 200, maxMs: 5_000 }),
    }));
    await transport.start(pipeline, {
      onFrame: (frame) => {
        metrics.brokerDeliveries.inc();
        feeds.deliver(frame);
      },
      onReconnected: () => logger.info({ feeds: feeds.syncAll() }, 'the routed path reconnected: bound feeds read history up to its end'),
    });
    await member.start();
    const port = await server.listen();
    timers = [every(SWEEP_INTERVAL_MS, () => {
      manager.sweep();
      feeds.sweep();
      metrics.organizationsBound.set(feeds.boundCount);
      const oldest = pipeline.oldestInFlightSince();
      metrics.ingestOldestInFlight.set(oldest === undefined ? 0 : Math.max(0, Date.now() - oldest) / 1000);
      checkEpoch().catch((error: unknown) => logger.warn({ err: error }, 'checking whether the store lost its data failed'));
    })];
    if (config.feeds.checkIntervalMs > 0) {
      let checking = false;
      timers.push(every(config.feeds.checkIntervalMs, () => {
        if (checking) return;
        checking = true;
        feeds.check().then(
          () => undefined,
          (error: unknown) => logger.warn({ err: error }, 'checking the feeds against history failed'),
        ).finally(() => {
          checking = false;
        });
      }));
    }
    logger.info({ port, managementPort, mode: config.embedded ? 'embedded' : 'connected', redis: config.redis !== undefined, amqp: config.amqp !== undefined }, config.embedded
      ? 'gateway listening in embedded single-node mode: in-memory stores, in-process events (set REDIS_URL and AMQP_URL for production)'
      : 'gateway listening');
    return { port, managementPort };
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      lifecycle.draining = true;
      metrics.ready.set(0);
      // Upgrades arriving while the load balancer still routes here get 503 + Retry-After.
      const sessions = manager.openSessionsShuffled();
      const windowMs = Math.min(config.lifecycle.drainWindowMs, sessions.length * 10);
      logger.info({ connections: sessions.length, windowMs }, 'draining connections');
      await drainSessions(sessions, windowMs, CloseCode.ServiceRestart, 'service restart: reconnect', 'shutdown');
      const deadline = Date.now() + 1_000;
      while (manager.size > 0 && Date.now() < deadline) await sleep(20);
      server.stopListening();
      for (const timer of timers) clearInterval(timer);
      feeds.close();
      await member.stop();
      await transport.stop();
      await stores.commands.stop();
      await stores.close();
      management.close();
      logger.info('gateway stopped');
    })();
    return stopping;
  }

  return { metrics, connections: manager, start, stop, readiness };
}

function buildConnections(config: Config, verifier: TokenVerifier, stores: Stores, history: HistoryStore, feeds: OrganizationFeeds, topics: TopicBroadcaster, metrics: GatewayMetrics, logger: Logger): ConnectionManager {
  return new ConnectionManager({
    ...config.server,
    podName: config.podName,
    tokenGraceMs: config.auth.clockToleranceSeconds * 1000,
  }, metrics, logger, feeds, {
    history,
    feed: (organizationId) => feeds.feed(organizationId),
    subscribers: (organizationId) => topics.subscribers(organizationTopic(organizationId)),
    pageSize: CATCH_UP_PAGE,
    budgetBytes: Math.floor(config.server.maxBackpressureBytes / 2),
    retryDelayMs: (attempt) => (attempt > 5 ? undefined : backoffDelay(attempt, { minMs: 200, maxMs: 5_000 })),
    fault: (error) => {
      metrics.handlerErrors.inc({ handler: 'catch_up' });
      logger.error({ err: error }, 'unexpected exception in a catch-up: the connection is closed to resume');
    },
  }, {
    membership: stores.membership,
    history: stores.history,
    refresher: createTokenRefresher({ verifier, membership: stores.membership, storeLoss: () => storeLossOf(config, stores) }),
  }, {
    onClosed: (session) => slotsOf(config, stores, logger).release(session.userId),
  });
}

/** The user's cluster-wide connection slots, in the presence store (memory on a single node). */
function slotsOf(config: Config, stores: Stores, logger: Logger): UserSlots {
  return {
    reserve: (userId) => stores.presence.tryReserve(config.podName, userId, config.server.maxConnectionsPerUser),
    release: (userId) => {
      stores.presence.release(config.podName, userId).catch((error: unknown) => logger.warn({ err: error }, 'could not release a presence slot; it goes with the pod'));
    },
  };
}

/** The last loss of the store's data while it still matters (the revocation TTL after it). */
function storeLossOf(config: Config, stores: Stores): { atMs: number; untilMs: number } | undefined {
  const atMs = stores.epoch.lostAtMs();
  if (atMs === undefined) return undefined;
  const untilMs = atMs + config.membership.revocationTtlSeconds * 1000;
  return Date.now() < untilMs ? { atMs, untilMs } : undefined;
}

function buildAdmission(config: Config, verifier: TokenVerifier, stores: Stores, connections: () => number, lifecycle: Lifecycle, metrics: GatewayMetrics, logger: Logger): ReturnType<typeof createAdmission> {
  const limiter = createConnectRateLimiter({ ratePerSecond: config.server.connectRatePerSecond, burst: config.server.connectRateBurst });
  return createAdmission({
    verifier,
    membership: stores.membership,
    metrics,
    logger,
    allowedOrigins: config.server.allowedOrigins,
    maxConnections: config.server.maxConnections,
    resolveClientAddress: createClientAddressResolver(config.server.trustedProxies),
    allowConnect: (address) => limiter.allow(address),
    storeLoss: () => storeLossOf(config, stores),
    state: { isDraining: () => lifecycle.draining, connectionCount: connections },
  });
}

function buildConnectFlow(config: Config, verifier: TokenVerifier, stores: Stores, history: HistoryStore, feeds: OrganizationFeeds, manager: ConnectionManager, lifecycle: Lifecycle, metrics: GatewayMetrics, logger: Logger): ReturnType<typeof createConnectFlow> {
  return createConnectFlow({
    admit: buildAdmission(config, verifier, stores, () => manager.size, lifecycle, metrics, logger),
    slots: slotsOf(config, stores, logger),
    feeds,
    history,
    membership: stores.membership,
    manager,
    resumeMaxEvents: config.history.resumeMaxEvents,
    metrics,
    logger,
  });
}

function buildPublicRoutes(config: Config, verifier: TokenVerifier, stores: Stores, feeds: OrganizationFeeds, transport: EventTransport, lifecycle: Lifecycle, metrics: GatewayMetrics, logger: Logger): HttpRoute[] {
  const admit = buildAdmission(config, verifier, stores, () => 0, lifecycle, metrics, logger);
  const cors = new PollCors(config.server.allowedOrigins);
  const routes: HttpRoute[] = [cors.preflightRoute(), ...createPollRoutes({
    admit: (request) => admit(request, 0, 'poll'),
    history: stores.history,
    currentOrganizations: (principal) => stores.membership.effectiveOrganizations(principal.userId, principal.organizations, principal.issuedAtMs),
    membership: stores.membership,
    feeds,
    metrics,
    logger,
    options: { defaultTimeoutMs: config.poll.defaultTimeoutMs, maxTimeoutMs: config.poll.maxTimeoutMs, maxEventsPerOrganization: config.history.resumeMaxEvents },
    isDraining: () => lifecycle.draining,
    cors,
  })];
  if (config.devPublishEnabled) {
    routes.push(createDevPublishRoute({ verifier, publish: (message) => transport.publishInbound(message), logger, maxEventBytes: config.maxEventBytes }));
    logger.warn('development publish endpoint enabled: POST /api/dev/events (needs the events:publish scope)');
  }
  return routes;
}

async function buildClusterMember(config: Config, stores: Stores, manager: ConnectionManager, metrics: GatewayMetrics, logger: Logger): Promise<ClusterMember> {
  const deletionCost = await createPodDeletionCostUpdater(config, logger);
  const member = createClusterMember({
    podName: config.podName,
    heartbeatMs: config.cluster.presenceHeartbeatMs,
    rebalanceIntervalMs: config.cluster.rebalanceIntervalMs,
    rebalanceTolerancePercent: config.cluster.rebalanceTolerancePercent,
    rebalanceMaxPerInterval: config.cluster.rebalanceMaxPerInterval,
  }, {
    presence: stores.presence,
    discovery: await createDiscovery(config, stores.presence, logger),
    logger,
    metrics,
    connections: () => manager.size,
    shed: (count, withinMs) => {
      void drainSessions(manager.openSessionsShuffled().slice(0, count), withinMs, CloseCode.Rebalance, 'rebalancing: reconnect', 'rebalance');
    },
    onConnectionCount: (count) => deletionCost?.update(count),
  });
  return {
    ring: member.ring,
    start: () => member.start(),
    stop: async () => {
      await member.stop();
      await deletionCost?.stop();
    },
  };
}

function buildReadiness(config: Config, server: PublicServer, transport: EventTransport, stores: Stores, manager: ConnectionManager, lifecycle: Lifecycle, metrics: GatewayMetrics): () => Promise<ReadinessReport> {
  const capacity = new CapacityGate(config.server.maxConnections, config.cluster.capacityResumePercent);
  const checks: ReadinessCheck[] = [
    { name: 'listening', check: () => server.isListening() },
    { name: 'not_draining', check: () => !lifecycle.draining },
    { name: 'capacity', check: () => capacity.accepting(manager.size) },
    { name: 'broker', check: () => transport.isReady() },
  ];
  const probeWrite = stores.probeWrite;
  if (probeWrite !== undefined) checks.push({ name: 'redis', check: () => probeWrite(READINESS_TIMEOUT_MS) });
  return async () => {
    const report = await evaluateReadiness(checks, READINESS_TIMEOUT_MS);
    metrics.ready.set(report.ready ? 1 : 0);
    return report;
  };
}

function buildManagementServer(config: Config, stores: Stores, readiness: () => Promise<ReadinessReport>, faults: HandlerFaults, logger: Logger, metrics: GatewayMetrics): ManagementServer {
  const routes: HttpRoute[] = [...createHealthRoutes(readiness, logger), createMetricsRoute(metrics.registry, logger)];
  if (config.adminToken !== undefined) {
    routes.push(...createAdminRoutes({
      adminToken: config.adminToken,
      disconnectUser: async (userId, reason) => {
        await stores.commands.publish({ type: 'disconnect_user', userId, reason });
      },
      logger,
    }));
  }
  return createManagementServer({ host: config.server.host, port: config.server.managementPort, routes, faults });
}

async function buildVerifier(config: Config, logger: Logger): Promise<TokenVerifier> {
  if (config.auth.devSecretFile === undefined) return createTokenVerifier(config.auth);
  const secret = await loadOrCreateDevSecret(config.auth.devSecretFile);
  logger.warn({ file: config.auth.devSecretFile }, 'no JWT key configured: using the development secret (mint tokens with `npm run token`)');
  return createTokenVerifier({ ...config.auth, secret });
}

function every(ms: number, work: () => void): NodeJS.Timeout {
  const timer = setInterval(work, ms);
  timer.unref();
  return timer;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
