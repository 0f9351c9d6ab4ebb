import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createAdmission } from './admission/admission.js';
import { createTokenVerifier } from './auth/token-verifier.js';
import type { TokenVerifier } from './auth/principal.js';
import type { Config } from './config/config.js';
import { createAmqpEventSource } from './consumer/amqp-event-source.js';
import type { EventSink, EventSource } from './consumer/event-source.js';
import { createLocalEventSource } from './consumer/local-event-source.js';
import { createDevPublishRoute, type DevPublish } from './dev/dev-publish-route.js';
import { createAmqpDevPublish } from './dev/amqp-dev-publish.js';
import { evaluateReadiness, type ReadinessCheck, type ReadinessReport } from './health/readiness.js';
import { planDrain } from './lifecycle/drain-plan.js';
import { createClientAddressResolver } from './limits/client-address.js';
import { createConnectRateLimiter } from './limits/connect-rate-limiter.js';
import type { MembershipStore } from './membership/membership-store.js';
import { createMemoryMembershipStore } from './membership/memory-membership-store.js';
import { createRedisMembershipStore } from './membership/redis-membership-store.js';
import { createMetrics, type GatewayMetrics } from './metrics/metrics.js';
import { CloseCode } from './protocol/close-codes.js';
import { createRedis, pingWithTimeout, quitRedis } from './redis/create-redis.js';
import { createLocalEventIdSource } from './routing/event-id-source.js';
import { FanOut } from './routing/fan-out.js';
import { ConnectionManager } from './session/connection-manager.js';
import { loadOrCreateDevSecret } from './tools/dev-token.js';
import { createManagementServer, type ManagementServer } from './transport/management-server.js';
import { createPublicServer, type PublicRoute, type PublicServer } from './transport/public-server.js';

export interface GatewayDeps {
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
}

export interface Gateway {
  readonly metrics: GatewayMetrics;
  /** Binds both ports and starts consuming. Resolves with the bound ports. */
  start(): Promise<{ port: number; managementPort: number }>;
  /** Graceful stop: not ready, stop accepting, drain in jittered batches, close dependencies. */
  stop(): Promise<void>;
  readiness(): Promise<ReadinessReport>;
  readonly connections: ConnectionManager;
}

const SWEEP_INTERVAL_MS = 1_000;
const READINESS_TIMEOUT_MS = 1_000;

/** Composition root: config → stores → services → servers. Everything is built here, nothing global. */
export async function createGateway(config: Config, deps: GatewayDeps): Promise<Gateway> {
  const { logger } = deps;
  const metrics = deps.metrics ?? createMetrics({ defaultLabels: { pod: config.podName } });
  const verifier = await buildVerifier(config, logger);

  const redis: Redis | undefined = config.redis === undefined ? undefined : createRedis({ url: config.redis.url, metrics, logger, name: `orgcast:${config.podName}` });
  const membership: MembershipStore = redis === undefined || config.redis === undefined
    ? createMemoryMembershipStore({ ttlSeconds: config.membership.revocationTtlSeconds })
    : createRedisMembershipStore({ redis, keyPrefix: config.redis.keyPrefix, ttlSeconds: config.membership.revocationTtlSeconds });

  const local = config.amqp === undefined ? createLocalEventSource() : undefined;
  const source: EventSource = local ?? createAmqpEventSource({ ...config.amqp!, podName: config.podName }, { logger, metrics });

  const manager = new ConnectionManager({ ...config.server, podName: config.podName }, metrics, logger);
  let draining = false;
  const resolveAddress = createClientAddressResolver(config.server.trustedProxies);
  const connectLimiter = createConnectRateLimiter({ ratePerSecond: config.server.connectRatePerSecond, burst: config.server.connectRateBurst });
  const admit = createAdmission({
    verifier,
    membership,
    metrics,
    logger,
    allowedOrigins: config.server.allowedOrigins,
    maxConnections: config.server.maxConnections,
    maxConnectionsPerUser: config.server.maxConnectionsPerUser,
    resolveClientAddress: resolveAddress,
    allowConnect: (address) => connectLimiter.allow(address),
    state: {
      isDraining: () => draining,
      connectionCount: () => manager.size,
      connectionsOfUser: (userId) => manager.connectionsOfUser(userId),
    },
  });

  const routes: PublicRoute[] = [];
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

  const server: PublicServer = createPublicServer({
    host: config.server.host,
    port: config.server.port,
    maxPayloadBytes: config.server.maxPayloadBytes,
    maxBackpressureBytes: config.server.maxBackpressureBytes,
    heartbeatTimeoutMs: config.server.heartbeatTimeoutMs,
    admit,
    manager,
    logger,
    routes,
  });
  const fanOut = new FanOut(server.broadcaster, createLocalEventIdSource(config.podName), metrics);

  const sink: EventSink = {
    onTaskEvent: (event) => {
      fanOut.deliver(event);
    },
    onMembershipChange: async (change) => {
      if (change.eventType === 'organization.member.removed') await membership.recordRemoved(change.organizationId, change.userId, change.atMs);
      else await membership.recordAdded(change.organizationId, change.userId, change.atMs);
      const affected = manager.applyMembership(change);
      metrics.membershipChanges.inc({ change: change.eventType === 'organization.member.removed' ? 'removed' : 'added' });
      logger.info({ organization: change.organizationId, user: change.userId, change: change.eventType, affected }, 'membership change applied');
    },
  };

  const checks: ReadinessCheck[] = [
    { name: 'listening', check: () => server.isListening() },
    { name: 'not_draining', check: () => !draining },
    { name: 'broker', check: () => source.isReady() },
  ];
  if (redis !== undefined) checks.push({ name: 'redis', check: () => pingWithTimeout(redis, READINESS_TIMEOUT_MS) });
  const readiness = async (): Promise<ReadinessReport> => {
    const report = await evaluateReadiness(checks, READINESS_TIMEOUT_MS);
    metrics.ready.set(report.ready ? 1 : 0);
    return report;
  };
  const management: ManagementServer = createManagementServer({
    host: config.server.host,
    port: config.server.managementPort,
    registry: metrics.registry,
    readiness,
    logger,
  });

  let sweepTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;

  async function start(): Promise<{ port: number; managementPort: number }> {
    const managementPort = await management.listen();
    await source.start(sink);
    const port = await server.listen();
    sweepTimer = setInterval(() => manager.sweep(), SWEEP_INTERVAL_MS);
    sweepTimer.unref();
    logger.info({
      port,
      managementPort,
      mode: config.embedded ? 'embedded' : 'connected',
      redis: redis !== undefined,
      amqp: config.amqp !== undefined,
    }, config.embedded
      ? 'gateway listening in embedded single-node mode: in-memory stores, in-process events (set REDIS_URL and AMQP_URL for production)'
      : 'gateway listening');
    return { port, managementPort };
  }

  async function drainConnections(): Promise<void> {
    const sessions = manager.openSessionsShuffled();
    const windowMs = Math.min(config.lifecycle.drainWindowMs, sessions.length * 10);
    const plan = planDrain(sessions.length, windowMs);
    logger.info({ connections: sessions.length, windowMs, batches: plan.length }, 'draining connections');
    const startedAt = Date.now();
    let next = 0;
    for (const batch of plan) {
      const wait = startedAt + batch.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      for (const session of sessions.slice(next, next + batch.count)) {
        session.close(CloseCode.ServiceRestart, 'service restart: reconnect', 'shutdown');
      }
      next += batch.count;
    }
    // Give the close handshakes a moment to complete before dependencies go away.
    const deadline = Date.now() + 1_000;
    while (manager.size > 0 && Date.now() < deadline) await sleep(20);
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      draining = true;
      metrics.ready.set(0);
      // Upgrades arriving while the load balancer still routes here get 503 + Retry-After.
      await drainConnections();
      server.stopListening();
      if (sweepTimer !== undefined) clearInterval(sweepTimer);
      await source.stop();
      await devPublishClose?.();
      await membership.close();
      if (redis !== undefined) await quitRedis(redis, 1_000);
      management.close();
      logger.info('gateway stopped');
    })();
    return stopping;
  }

  return { metrics, start, stop, readiness, connections: manager };
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
