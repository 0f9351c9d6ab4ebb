import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createAdmission } from './admission/admission.js';
import type { TokenVerifier } from './auth/principal.js';
import { createTokenVerifier } from './auth/token-verifier.js';
import { createClusterMember, type ClusterMember } from './cluster/cluster-member.js';
import { createLocalCommandBus, type ClusterCommand, type CommandBus } from './cluster/command-bus.js';
import { createRedisCommandBus } from './cluster/redis-command-bus.js';
import type { Config } from './config/config.js';
import { createAmqpClusterSource } from './consumer/amqp-cluster-source.js';
import type { ClusterEventSource, RoutedFrame } from './consumer/cluster-source.js';
import { createLocalEventSource, type LocalEventSource } from './consumer/local-event-source.js';
import { createAmqpDevPublish } from './dev/amqp-dev-publish.js';
import { createDevPublishRoute, type DevPublish } from './dev/dev-publish-route.js';
import { evaluateReadiness, type ReadinessCheck, type ReadinessReport } from './health/readiness.js';
import type { HistoryStore } from './history/history-store.js';
import { createMemoryHistoryStore } from './history/memory-history-store.js';
import { createRedisHistoryStore } from './history/redis-history-store.js';
import { CapacityGate } from './lifecycle/capacity-gate.js';
import { drainSessions } from './lifecycle/drain.js';
import { createClientAddressResolver } from './limits/client-address.js';
import { createConnectRateLimiter } from './limits/connect-rate-limiter.js';
import type { MembershipStore } from './membership/membership-store.js';
import { createMemoryMembershipStore } from './membership/memory-membership-store.js';
import { createRedisMembershipStore } from './membership/redis-membership-store.js';
import { createMetrics, type GatewayMetrics } from './metrics/metrics.js';
import { PollCors } from './poll/poll-cors.js';
import { createPollRoutes } from './poll/poll-route.js';
import type { PresenceStore } from './presence/presence-store.js';
import { createRedisPresenceStore } from './presence/redis-presence-store.js';
import { CloseCode } from './protocol/close-codes.js';
import { createRedis, pingWithTimeout, quitRedis } from './redis/create-redis.js';
import { createDiscovery } from './cluster/create-discovery.js';
import { createPodDeletionCostUpdater } from './cluster/create-pod-deletion-cost.js';
import { OrganizationFeeds, type FeedBinder } from './routing/organization-feeds.js';
import { resyncFeeds } from './routing/feed-resync.js';
import { Sequencer } from './routing/sequencer.js';
import { createConnectFlow, type UserSlots } from './session/connect-flow.js';
import { ConnectionManager } from './session/connection-manager.js';
import { loadOrCreateDevSecret } from './tools/dev-token.js';
import { createHandlerFaults } from './transport/handler-faults.js';
import { createManagementServer, type ManagementServer } from './transport/management-server.js';
import { createPublicServer, type PublicServer } from './transport/public-server.js';
import type { HttpRoute } from './http/http-exchange.js';
import { createHealthRoutes } from './health/health-routes.js';
import { createMetricsRoute } from './metrics/metrics-route.js';
import { createAdminRoutes } from './admin/admin-routes.js';

export interface GatewayDeps {
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
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

/**
 * Composition root: config → stores → event path → servers. The embedded single node and a cluster
 * pod run the same code: only the store, source and bus implementations differ.
 */
export async function createGateway(config: Config, deps: GatewayDeps): Promise<Gateway> {
  const { logger } = deps;
  const metrics = deps.metrics ?? createMetrics({ defaultLabels: { pod: config.podName } });
  const verifier = await buildVerifier(config, logger);
  const faults = createHandlerFaults(logger, metrics);

  // Stores.
  const redis: Redis | undefined = config.redis === undefined ? undefined : createRedis({ url: config.redis.url, metrics, logger, name: `orgcast:${config.podName}` });
  const keyPrefix = config.redis?.keyPrefix ?? '';
  const membership: MembershipStore = redis === undefined
    ? createMemoryMembershipStore({ ttlSeconds: config.membership.revocationTtlSeconds })
    : createRedisMembershipStore({ redis, keyPrefix, ttlSeconds: config.membership.revocationTtlSeconds });
  const historyOptions = { maxLength: config.history.maxLength, maxAgeMs: config.history.maxAgeMs, dedupeTtlSeconds: config.history.dedupeTtlSeconds };
  const history: HistoryStore = redis === undefined ? createMemoryHistoryStore(historyOptions) : createRedisHistoryStore({ redis, keyPrefix, ...historyOptions });
  const presence: PresenceStore | undefined = redis === undefined ? undefined : createRedisPresenceStore({ redis, keyPrefix, podTtlMs: config.cluster.presenceTtlMs });
  const commands: CommandBus = redis === undefined ? createLocalCommandBus() : createRedisCommandBus({ redis, keyPrefix, logger });

  // Event path: source → sequencer → (broker) → feeds → sockets.
  const local: LocalEventSource | undefined = config.amqp === undefined ? createLocalEventSource() : undefined;
  const broker: ClusterEventSource | undefined = config.amqp === undefined ? undefined : createAmqpClusterSource({ ...config.amqp, podName: config.podName }, { logger, metrics });
  const binder: FeedBinder = broker ?? { bindOrganization: async () => undefined, unbindOrganization: async () => undefined };

  let draining = false;
  const feedsForManager = {
    acquire: (org: string) => feeds.acquire(org),
    release: (org: string) => feeds.release(org),
    framesAfter: (org: string, afterId: string) => feeds.framesAfter(org, afterId),
    lastDelivered: (org: string) => feeds.lastDelivered(org),
    othersInterested: (org: string) => feeds.othersInterested(org),
    advance: (org: string, upTo: string, frames: readonly RoutedFrame[]) => feeds.advance(org, upTo, frames),
  };
  const slots: UserSlots | undefined = presence === undefined ? undefined : {
    reserve: (userId) => presence.tryReserve(config.podName, userId, config.server.maxConnectionsPerUser),
    release: (userId) => {
      presence.release(config.podName, userId).catch((error: unknown) => logger.warn({ err: error }, 'could not release a presence slot; it goes with the pod'));
    },
  };
  const manager = new ConnectionManager({ ...config.server, podName: config.podName }, metrics, logger, feedsForManager, {
    onClosed: (session) => slots?.release(session.userId),
  });
  const admit = createAdmission({
    verifier,
    membership,
    metrics,
    logger,
    allowedOrigins: config.server.allowedOrigins,
    maxConnections: config.server.maxConnections,
    maxConnectionsPerUser: config.server.maxConnectionsPerUser,
    resolveClientAddress: createClientAddressResolver(config.server.trustedProxies),
    allowConnect: (() => {
      const limiter = createConnectRateLimiter({ ratePerSecond: config.server.connectRatePerSecond, burst: config.server.connectRateBurst });
      return (address: string) => limiter.allow(address);
    })(),
    state: {
      isDraining: () => draining,
      connectionCount: () => manager.size,
      connectionsOfUser: (userId) => manager.connectionsOfUser(userId),
    },
  });

  const routes: HttpRoute[] = [];
  let server: PublicServer | undefined;
  // The feeds publish through the server's topics; the server needs the connect flow, which needs
  // the feeds: the broadcaster forwards to the server once it exists.
  const feeds = new OrganizationFeeds(binder, {
    publish: (topic, text) => server?.broadcaster.publish(topic, text) ?? 0,
  }, metrics, logger, config.feeds);
  const pollCors = new PollCors(config.server.allowedOrigins);
  routes.push(pollCors.preflightRoute());
  routes.push(...createPollRoutes({
    admit: (request) => admit(request, 0, 'poll'),
    history,
    feeds,
    metrics,
    logger,
    options: { defaultTimeoutMs: config.poll.defaultTimeoutMs, maxTimeoutMs: config.poll.maxTimeoutMs, maxEventsPerOrganization: config.history.resumeMaxEvents },
    isDraining: () => draining,
    cors: pollCors,
  }));

  // A sequenced frame goes to the routed exchange (cluster), or straight to this pod's feeds (embedded).
  const routeFrame = (frame: RoutedFrame): Promise<void> | undefined => (broker === undefined ? void feeds.deliver(frame) : broker.publishRouted(frame));
  const sequencer = new Sequencer(history, routeFrame, membership, commands, metrics, logger);
  const applyCommand = (command: ClusterCommand): void => {
    metrics.commandsReceived.inc({ type: command.type });
    if (command.type === 'membership') {
      const affected = manager.applyMembership(command.change);
      metrics.membershipChanges.inc({ change: command.change.eventType === 'organization.member.removed' ? 'removed' : 'added' });
      logger.info({ organization: command.change.organizationId, user: command.change.userId, change: command.change.eventType, affected }, 'membership change applied');
    } else {
      const closed = manager.disconnectUser(command.userId, CloseCode.Revoked, command.reason, 'revoked');
      logger.info({ user: command.userId, closed }, 'user disconnected by command');
    }
  };

  let devPublishClose: (() => Promise<void>) | undefined;
  if (config.devPublishEnabled) {
    let publish: DevPublish;
    if (local !== undefined) {
      publish = async (message) => {
        if ('userId' in message) await local.publishMembership({ ...message, atMs: Date.now() });
        else await local.publishTask({ ...message, publishedAtMs: Date.now() });
      };
    } else {
      const amqpPublish = createAmqpDevPublish(config.amqp!, logger);
      publish = amqpPublish.publish;
      devPublishClose = amqpPublish.close;
    }
    routes.push(createDevPublishRoute({ verifier, publish, logger }));
    logger.warn('development publish endpoint enabled: POST /api/dev/events (needs the events:publish scope)');
  }

  server = createPublicServer({
    host: config.server.host,
    port: config.server.port,
    maxPayloadBytes: config.server.maxPayloadBytes,
    maxBackpressureBytes: config.server.maxBackpressureBytes,
    heartbeatTimeoutMs: config.server.heartbeatTimeoutMs,
    connect: createConnectFlow({ admit, slots, feeds: feedsForManager, history, manager, resumeMaxEvents: config.history.resumeMaxEvents, metrics, logger }),
    manager,
    logger,
    faults,
    routes,
  });
  const publicServer = server;

  // Cluster membership (with Redis): presence heartbeats, the pod ring and its duties, shedding.
  const deletionCost = await createPodDeletionCostUpdater(config, logger);
  const member: ClusterMember | undefined = presence === undefined ? undefined : createClusterMember({
    podName: config.podName,
    heartbeatMs: config.cluster.presenceHeartbeatMs,
    rebalanceIntervalMs: config.cluster.rebalanceIntervalMs,
    rebalanceTolerancePercent: config.cluster.rebalanceTolerancePercent,
    rebalanceMaxPerInterval: config.cluster.rebalanceMaxPerInterval,
  }, {
    presence,
    discovery: await createDiscovery(config, presence, logger),
    logger,
    metrics,
    connections: () => manager.size,
    shed: (count, withinMs) => {
      void drainSessions(manager.openSessionsShuffled().slice(0, count), withinMs, CloseCode.Rebalance, 'rebalancing: reconnect', 'rebalance');
    },
    onConnectionCount: (count) => deletionCost?.update(count),
  });

  const capacity = new CapacityGate(config.server.maxConnections, config.cluster.capacityResumePercent);
  const checks: ReadinessCheck[] = [
    { name: 'listening', check: () => publicServer.isListening() },
    { name: 'not_draining', check: () => !draining },
    { name: 'capacity', check: () => capacity.accepting(manager.size) },
    { name: 'broker', check: () => broker?.isReady() ?? true },
  ];
  if (redis !== undefined) checks.push({ name: 'redis', check: () => pingWithTimeout(redis, READINESS_TIMEOUT_MS) });
  const readiness = async (): Promise<ReadinessReport> => {
    const report = await evaluateReadiness(checks, READINESS_TIMEOUT_MS);
    metrics.ready.set(report.ready ? 1 : 0);
    return report;
  };
  const managementRoutes: HttpRoute[] = [...createHealthRoutes(readiness, logger), createMetricsRoute(metrics.registry, logger)];
  if (config.adminToken !== undefined) {
    managementRoutes.push(...createAdminRoutes({
      adminToken: config.adminToken,
      disconnectUser: (userId, reason) => commands.publish({ type: 'disconnect_user', userId, reason }),
      logger,
    }));
  }
  const management: ManagementServer = createManagementServer({ host: config.server.host, port: config.server.managementPort, routes: managementRoutes, faults });

  let sweepTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;

  async function start(): Promise<{ port: number; managementPort: number }> {
    const managementPort = await management.listen();
    await commands.start(applyCommand);
    if (local !== undefined) {
      await local.start({
        onTaskEvent: (event) => sequencer.task(event, event.messageId ?? randomUUID()),
        onMembershipChange: (change) => sequencer.membershipChange(change),
      });
    }
    if (broker !== undefined) {
      await broker.start({
        sequenceTask: (event, dedupeKey, after) => sequencer.sequence(event, dedupeKey, after),
        routeTask: async (frame) => routeFrame(frame),
        onIngestMembership: (change) => sequencer.membershipChange(change),
        onRoutedFrame: (frame) => {
          metrics.brokerDeliveries.inc();
          feeds.deliver(frame);
        },
        onReconnected: () => {
          resyncFeeds(feeds, history, config.history.resumeMaxEvents).then(
            (frames) => logger.info({ frames }, 're-read the bound organizations\' history after a broker reconnection'),
            (error: unknown) => logger.warn({ err: error }, 'could not re-read history after a broker reconnection'),
          );
        },
      });
    }
    await member?.start();
    const port = await publicServer.listen();
    sweepTimer = setInterval(() => {
      manager.sweep();
      feeds.sweep();
      metrics.organizationsBound.set(feeds.boundCount);
    }, SWEEP_INTERVAL_MS);
    sweepTimer.unref();
    logger.info({
      port,
      managementPort,
      mode: config.embedded ? 'embedded' : 'connected',
      redis: redis !== undefined,
      amqp: broker !== undefined,
    }, config.embedded
      ? 'gateway listening in embedded single-node mode: in-memory stores, in-process events (set REDIS_URL and AMQP_URL for production)'
      : 'gateway listening');
    return { port, managementPort };
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      draining = true;
      metrics.ready.set(0);
      // Upgrades arriving while the load balancer still routes here get 503 + Retry-After.
      const sessions = manager.openSessionsShuffled();
      const windowMs = Math.min(config.lifecycle.drainWindowMs, sessions.length * 10);
      logger.info({ connections: sessions.length, windowMs }, 'draining connections');
      await drainSessions(sessions, windowMs, CloseCode.ServiceRestart, 'service restart: reconnect', 'shutdown');
      const deadline = Date.now() + 1_000;
      while (manager.size > 0 && Date.now() < deadline) await sleep(20);
      publicServer.stopListening();
      if (sweepTimer !== undefined) clearInterval(sweepTimer);
      feeds.close();
      await member?.stop();
      await deletionCost?.stop();
      await broker?.stop();
      await local?.stop();
      await devPublishClose?.();
      await commands.stop();
      await Promise.all([membership.close(), history.close(), presence?.close()]);
      if (redis !== undefined) await quitRedis(redis, 1_000);
      management.close();
      logger.info('gateway stopped');
    })();
    return stopping;
  }

  return { metrics, connections: manager, start, stop, readiness };
}

async function buildVerifier(config: Config, logger: Logger): Promise<TokenVerifier> {
  if (config.auth.devSecretFile === undefined) return createTokenVerifier(config.auth);
  const secret = await loadOrCreateDevSecret(config.auth.devSecretFile);
  logger.warn({ file: config.auth.devSecretFile }, 'no JWT key configured: using the development secret (mint tokens with `npm run token`)');
  return createTokenVerifier({ ...config.auth, secret });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
