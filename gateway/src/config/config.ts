import { hostname } from 'node:os';
import type { z } from 'zod';
import { publicKeyProblem } from '../auth/token-verifier.js';
import { envSchema, type Env } from './schema.js';

/** The validated, frozen configuration every component receives. Built only by `loadConfig`. */
export interface Config {
  readonly podName: string;
  readonly podNamespace: string | undefined;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly managementPort: number;
    readonly allowedOrigins: readonly string[] | undefined;
    readonly trustedProxies: readonly string[];
    readonly connectRatePerSecond: number;
    readonly connectRateBurst: number;
    readonly maxConnections: number;
    readonly maxConnectionsPerUser: number;
    readonly clientMessagesPerSecond: number;
    readonly clientMessagesBurst: number;
    readonly clientRateLimitStrikes: number;
    readonly maxPayloadBytes: number;
    readonly maxBackpressureBytes: number;
    readonly malformedFrameLimit: number;
    readonly heartbeatIntervalMs: number;
    readonly heartbeatTimeoutMs: number;
  };
  readonly auth: {
    readonly secret: string | undefined;
    readonly publicKeyPem: string | undefined;
    readonly jwksUrl: string | undefined;
    readonly jwksCacheMs: number;
    readonly jwksCooldownMs: number;
    readonly issuer: string | undefined;
    readonly audience: string | undefined;
    readonly clockToleranceSeconds: number;
    readonly orgClaim: string;
    readonly maxTokenBytes: number;
    /** Set only in embedded mode with no key configured: a generated development secret lives here. */
    readonly devSecretFile: string | undefined;
  };
  readonly redis: {
    readonly url: string;
    readonly keyPrefix: string;
  } | undefined;
  readonly membership: {
    readonly revocationTtlSeconds: number;
  };
  readonly amqp: {
    readonly url: string;
    readonly exchange: string;
    readonly deadLetterExchange: string;
    readonly queueName: string;
    readonly queueExpiresMs: number;
    readonly queueMaxLength: number;
    readonly prefetch: number;
    readonly reconnectMinMs: number;
    readonly reconnectMaxMs: number;
    readonly canaryIntervalMs: number;
  } | undefined;
  readonly history: {
    readonly maxLength: number;
    readonly maxAgeMs: number;
    readonly dedupeTtlSeconds: number;
    readonly resumeMaxEvents: number;
  };
  readonly poll: {
    readonly defaultTimeoutMs: number;
    readonly maxTimeoutMs: number;
  };
  readonly feeds: {
    readonly bufferSize: number;
    readonly bufferMs: number;
    readonly lingerMs: number;
    /** Every this often, feeds with subscribers are checked against history (0: never). */
    readonly checkIntervalMs: number;
  };
  /** Largest event body accepted into the ingest stream; larger ones are dead-lettered. */
  readonly maxEventBytes: number;
  readonly cluster: {
    readonly presenceTtlMs: number;
    readonly presenceHeartbeatMs: number;
    readonly discovery: 'redis' | 'kubernetes';
    readonly kubernetesService: string | undefined;
    readonly podDeletionCost: boolean;
    /** 0 disables shedding after scale-out. */
    readonly rebalanceIntervalMs: number;
    readonly rebalanceTolerancePercent: number;
    readonly rebalanceMaxPerInterval: number;
    /** Ready again below this share of MAX_CONNECTIONS after reaching it. */
    readonly capacityResumePercent: number;
  };
  readonly lifecycle: {
    readonly shutdownTimeoutMs: number;
    readonly drainWindowMs: number;
  };
  /** No Redis and no RabbitMQ: single node, in-memory stores, local event source. */
  readonly embedded: boolean;
  readonly devPublishEnabled: boolean;
  /** Bearer credential of the management port's `/admin/…` endpoints; they do not exist without it. */
  readonly adminToken: string | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Validates the environment and returns a frozen Config. Throws one ConfigError naming every bad
 * variable. Empty strings count as unset (Kubernetes often renders unset values as "").
 */
export function loadConfig(environment: Readonly<Record<string, string | undefined>>): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = environment[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  // Field by field, so that the rules between fields still run (on the fields that parsed) when
  // another one is bad: one message names every problem.
  const problems: string[] = [];
  const parsed: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(envSchema.shape) as Array<[string, z.ZodType]>) {
    const result = schema.safeParse(input[name]);
    if (result.success) parsed[name] = result.data;
    else for (const issue of result.error.issues) problems.push(`${name}: ${issue.message}${SECRET_VARIABLES.has(name) ? '' : ` (got ${JSON.stringify(input[name])})`}`);
  }
  const env = parsed as Partial<Env>;
  const rule = (names: ReadonlyArray<keyof Env>, broken: () => boolean, problem: string): void => {
    if (names.every((name) => name in parsed) && broken()) problems.push(problem);
  };
  const embedded = input.REDIS_URL === undefined && input.AMQP_URL === undefined;
  const hasKey = input.JWT_SECRET !== undefined || input.JWT_PUBLIC_KEY !== undefined || input.JWT_JWKS_URL !== undefined;
  const shutdownTimeoutMs = env.SHUTDOWN_TIMEOUT_MS ?? 0;
  const drainWindowMs = env.DRAIN_WINDOW_MS ?? defaultDrainWindowMs(shutdownTimeoutMs);

  if (!hasKey && !embedded) problems.push('JWT_SECRET / JWT_PUBLIC_KEY / JWT_JWKS_URL: at least one is required when REDIS_URL or AMQP_URL is set');
  if (env.JWT_PUBLIC_KEY !== undefined) {
    const keyProblem = publicKeyProblem(env.JWT_PUBLIC_KEY);
    if (keyProblem !== undefined) problems.push(`JWT_PUBLIC_KEY: ${keyProblem}`);
  }
  rule(['PORT', 'MANAGEMENT_PORT'], () => env.PORT !== 0 && env.PORT === env.MANAGEMENT_PORT, `MANAGEMENT_PORT: must differ from PORT (${env.PORT})`);
  rule(['HEARTBEAT_INTERVAL_MS', 'HEARTBEAT_TIMEOUT_MS'], () => env.HEARTBEAT_INTERVAL_MS! >= env.HEARTBEAT_TIMEOUT_MS!, 'HEARTBEAT_INTERVAL_MS: must be lower than HEARTBEAT_TIMEOUT_MS');
  rule(['AMQP_RECONNECT_MIN_MS', 'AMQP_RECONNECT_MAX_MS'], () => env.AMQP_RECONNECT_MIN_MS! > env.AMQP_RECONNECT_MAX_MS!, 'AMQP_RECONNECT_MIN_MS: must not exceed AMQP_RECONNECT_MAX_MS');
  rule(['DRAIN_WINDOW_MS', 'SHUTDOWN_TIMEOUT_MS'], () => drainWindowMs + 1_000 > shutdownTimeoutMs, 'DRAIN_WINDOW_MS: must leave at least 1000 ms of SHUTDOWN_TIMEOUT_MS for closing dependencies');
  rule(['MAX_BACKPRESSURE_BYTES', 'MAX_EVENT_BYTES'], () => env.MAX_BACKPRESSURE_BYTES! < 4 * env.MAX_EVENT_BYTES!, 'MAX_BACKPRESSURE_BYTES: must be at least 4 × MAX_EVENT_BYTES (a replay sends an event only while the socket buffers less than half of it)');
  rule(['MAX_CONNECTIONS_PER_USER', 'MAX_CONNECTIONS'], () => env.MAX_CONNECTIONS_PER_USER! > env.MAX_CONNECTIONS!, 'MAX_CONNECTIONS_PER_USER: must not exceed MAX_CONNECTIONS');
  rule(['POLL_DEFAULT_TIMEOUT_MS', 'POLL_MAX_TIMEOUT_MS'], () => env.POLL_DEFAULT_TIMEOUT_MS! > env.POLL_MAX_TIMEOUT_MS!, 'POLL_DEFAULT_TIMEOUT_MS: must not exceed POLL_MAX_TIMEOUT_MS');
  rule(['PRESENCE_HEARTBEAT_MS', 'PRESENCE_TTL_MS'], () => env.PRESENCE_HEARTBEAT_MS! * 2 > env.PRESENCE_TTL_MS!, 'PRESENCE_HEARTBEAT_MS: must be at most half of PRESENCE_TTL_MS');
  rule(['DISCOVERY'], () => env.DISCOVERY === 'kubernetes' && (input.KUBERNETES_SERVICE === undefined || input.POD_NAMESPACE === undefined), 'KUBERNETES_SERVICE / POD_NAMESPACE: required when DISCOVERY=kubernetes');
  if (problems.length > 0) throw new ConfigError(problems);
  return build(env as Env, { embedded, hasKey, drainWindowMs });
}

/** Variables whose values never appear in an error message. */
const SECRET_VARIABLES = new Set(['JWT_SECRET', 'JWT_PUBLIC_KEY', 'AMQP_URL', 'REDIS_URL', 'ADMIN_TOKEN']);

/** 40 % of the shutdown deadline, at most 10 s, and always leaving 1 s for the dependencies. */
function defaultDrainWindowMs(shutdownTimeoutMs: number): number {
  return Math.max(0, Math.min(10_000, Math.floor(shutdownTimeoutMs * 0.4), shutdownTimeoutMs - 1_000));
}

function build(env: Env, derived: { readonly embedded: boolean; readonly hasKey: boolean; readonly drainWindowMs: number }): Config {
  const { embedded, hasKey, drainWindowMs } = derived;
  const podName = env.POD_NAME ?? sanitizePodName(hostname());
  const config: Config = {
    podName,
    podNamespace: env.POD_NAMESPACE,
    logLevel: env.LOG_LEVEL,
    server: {
      host: env.HOST,
      port: env.PORT,
      managementPort: env.MANAGEMENT_PORT,
      allowedOrigins: env.ALLOWED_ORIGINS,
      trustedProxies: env.TRUSTED_PROXIES,
      connectRatePerSecond: env.CONNECT_RATE_PER_SECOND,
      connectRateBurst: env.CONNECT_RATE_BURST,
      maxConnections: env.MAX_CONNECTIONS,
      maxConnectionsPerUser: env.MAX_CONNECTIONS_PER_USER,
      clientMessagesPerSecond: env.CLIENT_MESSAGES_PER_SECOND,
      clientMessagesBurst: env.CLIENT_MESSAGES_BURST,
      clientRateLimitStrikes: env.CLIENT_RATE_LIMIT_STRIKES,
      maxPayloadBytes: env.MAX_PAYLOAD_BYTES,
      maxBackpressureBytes: env.MAX_BACKPRESSURE_BYTES,
      malformedFrameLimit: env.MALFORMED_FRAME_LIMIT,
      heartbeatIntervalMs: env.HEARTBEAT_INTERVAL_MS,
      heartbeatTimeoutMs: env.HEARTBEAT_TIMEOUT_MS,
    },
    auth: {
      secret: env.JWT_SECRET,
      publicKeyPem: env.JWT_PUBLIC_KEY,
      jwksUrl: env.JWT_JWKS_URL,
      jwksCacheMs: env.JWT_JWKS_CACHE_MS,
      jwksCooldownMs: env.JWT_JWKS_COOLDOWN_MS,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS,
      orgClaim: env.JWT_ORG_CLAIM,
      maxTokenBytes: env.JWT_MAX_TOKEN_BYTES,
      devSecretFile: hasKey ? undefined : env.DEV_SECRET_FILE,
    },
    redis: env.REDIS_URL === undefined ? undefined : { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX },
    membership: { revocationTtlSeconds: env.MEMBERSHIP_REVOCATION_TTL_SECONDS },
    amqp: env.AMQP_URL === undefined ? undefined : {
      url: env.AMQP_URL,
      exchange: env.AMQP_EXCHANGE,
      deadLetterExchange: env.AMQP_DEAD_LETTER_EXCHANGE ?? `${env.AMQP_EXCHANGE}.dead-letter`,
      queueName: `${env.AMQP_QUEUE_PREFIX}${podName}`,
      queueExpiresMs: env.AMQP_QUEUE_EXPIRES_MS,
      queueMaxLength: env.AMQP_QUEUE_MAX_LENGTH,
      prefetch: env.AMQP_PREFETCH,
      reconnectMinMs: env.AMQP_RECONNECT_MIN_MS,
      reconnectMaxMs: env.AMQP_RECONNECT_MAX_MS,
      canaryIntervalMs: env.READINESS_CANARY_INTERVAL_MS,
    },
    history: {
      maxLength: env.HISTORY_MAX_LENGTH,
      maxAgeMs: env.HISTORY_MAX_AGE_MS,
      dedupeTtlSeconds: env.HISTORY_DEDUPE_TTL_SECONDS,
      resumeMaxEvents: env.RESUME_MAX_EVENTS,
    },
    poll: { defaultTimeoutMs: env.POLL_DEFAULT_TIMEOUT_MS, maxTimeoutMs: env.POLL_MAX_TIMEOUT_MS },
    feeds: { bufferSize: env.FEED_BUFFER_SIZE, bufferMs: env.FEED_BUFFER_MS, lingerMs: env.FEED_LINGER_MS, checkIntervalMs: env.FEED_CHECK_INTERVAL_MS },
    maxEventBytes: env.MAX_EVENT_BYTES,
    cluster: {
      presenceTtlMs: env.PRESENCE_TTL_MS,
      presenceHeartbeatMs: env.PRESENCE_HEARTBEAT_MS,
      discovery: env.DISCOVERY,
      kubernetesService: env.KUBERNETES_SERVICE,
      podDeletionCost: env.POD_DELETION_COST_ENABLED ?? env.DISCOVERY === 'kubernetes',
      rebalanceIntervalMs: env.REBALANCE_INTERVAL_MS,
      rebalanceTolerancePercent: env.REBALANCE_TOLERANCE_PERCENT,
      rebalanceMaxPerInterval: env.REBALANCE_MAX_PER_INTERVAL,
      capacityResumePercent: env.CAPACITY_RESUME_PERCENT,
    },
    lifecycle: { shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS, drainWindowMs },
    embedded,
    devPublishEnabled: env.DEV_PUBLISH_ENABLED ?? embedded,
    adminToken: env.ADMIN_TOKEN,
  };
  return deepFreeze(config);
}

function sanitizePodName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 200);
  return cleaned.length > 0 ? cleaned : 'gateway';
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
