import { z } from 'zod';

/** Comma-separated list → trimmed, non-empty strings. */
const csv = z
  .string()
  .transform((s) => s.split(',').map((p) => p.trim()).filter((p) => p.length > 0));

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A decimal integer only: `1e3`, `0x7a3f`, `08081` or `8081.0` are refused, not reinterpreted. */
const int = (min: number, max: number) => z
  .string()
  .regex(/^(0|-?[1-9][0-9]{0,15})$/, 'must be a decimal integer')
  .transform(Number)
  .pipe(z.number().int().min(min).max(max));
/** 0 asks the OS for a free port (tests). */
const port = int(0, 65535);
const url = (protocols: RegExp) => z.string().refine((s) => {
  try {
    return protocols.test(new URL(s).protocol);
  } catch {
    return false;
  }
}, `must be a URL with protocol ${protocols.source}`);

/**
 * Every environment variable the gateway reads. Unknown variables are ignored; a known variable
 * with a bad value is an error. Defaults are production-safe.
 */
export const envSchema = z.object({
  PORT: port.default(8081),
  HOST: z.string().min(1).default('0.0.0.0'),
  MANAGEMENT_PORT: port.default(9091),
  POD_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'letters, digits, dot, dash, underscore').optional(),
  POD_NAMESPACE: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_PUBLIC_KEY: z.string().includes('-----BEGIN PUBLIC KEY-----', { message: 'must be a PEM "PUBLIC KEY" (SPKI)' }).optional(),
  JWT_JWKS_URL: url(/^https?:$/).optional(),
  JWT_JWKS_CACHE_MS: int(1_000, 86_400_000).default(600_000),
  JWT_JWKS_COOLDOWN_MS: int(0, 600_000).default(30_000),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  JWT_CLOCK_TOLERANCE_SECONDS: int(0, 60).default(5),
  JWT_ORG_CLAIM: z.string().regex(/^[A-Za-z_][A-Za-z0-9_:./-]*$/).default('org_ids'),
  JWT_MAX_TOKEN_BYTES: int(256, 65_536).default(8_192),

  ALLOWED_ORIGINS: csv.optional(),
  TRUSTED_PROXIES: csv.default([]),
  CONNECT_RATE_PER_SECOND: int(1, 1_000_000).default(50),
  CONNECT_RATE_BURST: int(1, 1_000_000).default(200),

  MAX_CONNECTIONS: int(1, 10_000_000).default(100_000),
  MAX_CONNECTIONS_PER_USER: int(1, 100_000).default(32),
  CLIENT_MESSAGES_PER_SECOND: int(1, 100_000).default(10),
  CLIENT_MESSAGES_BURST: int(1, 100_000).default(20),
  CLIENT_RATE_LIMIT_STRIKES: int(1, 10_000).default(20),
  MAX_PAYLOAD_BYTES: int(64, 16 * 1024 * 1024).default(4_096),
  MAX_BACKPRESSURE_BYTES: int(1_024, 1024 * 1024 * 1024).default(1024 * 1024),
  MALFORMED_FRAME_LIMIT: int(1, 10_000).default(10),
  HEARTBEAT_INTERVAL_MS: int(500, 600_000).default(25_000),
  HEARTBEAT_TIMEOUT_MS: int(2_000, 960_000).default(60_000),

  REDIS_URL: url(/^rediss?:$/).optional(),
  // No braces: a `{` in the prefix would become every key's Redis Cluster hash tag, in place of `{org}`.
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:._-]{1,64}$/, 'letters, digits, colon, dot, dash, underscore; no braces (they would replace the keys\' {org} hash tags), at most 64').default('orgcast:'),
  MEMBERSHIP_REVOCATION_TTL_SECONDS: int(60, 31_536_000).default(86_400),

  AMQP_URL: url(/^amqps?:$/).optional(),
  AMQP_EXCHANGE: z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/).default('tasks'),
  AMQP_DEAD_LETTER_EXCHANGE: z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/).optional(),
  AMQP_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9._:-]{0,100}$/).default('orgcast.pod.'),
  AMQP_QUEUE_EXPIRES_MS: int(10_000, 86_400_000).default(300_000),
  AMQP_QUEUE_MAX_LENGTH: int(1, 100_000_000).default(100_000),
  AMQP_PREFETCH: int(1, 65_535).default(1_000),
  AMQP_RECONNECT_MIN_MS: int(10, 60_000).default(250),
  AMQP_RECONNECT_MAX_MS: int(100, 300_000).default(10_000),
  READINESS_CANARY_INTERVAL_MS: int(100, 300_000).default(5_000),

  HISTORY_MAX_LENGTH: int(1, 10_000_000).default(10_000),
  HISTORY_MAX_AGE_MS: int(1_000, 30 * 86_400_000).default(86_400_000),
  HISTORY_DEDUPE_TTL_SECONDS: int(10, 7 * 86_400).default(1_800),
  RESUME_MAX_EVENTS: int(1, 1_000_000).default(1_000),
  POLL_DEFAULT_TIMEOUT_MS: int(0, 600_000).default(25_000),
  POLL_MAX_TIMEOUT_MS: int(0, 600_000).default(55_000),
  FEED_BUFFER_SIZE: int(1, 1_000_000).default(256),
  FEED_BUFFER_MS: int(100, 600_000).default(10_000),
  FEED_LINGER_MS: int(0, 3_600_000).default(30_000),
  FEED_CHECK_INTERVAL_MS: int(0, 3_600_000).default(10_000),
  MAX_EVENT_BYTES: int(256, 16 * 1024 * 1024).default(64 * 1024),

  PRESENCE_TTL_MS: int(1_000, 3_600_000).default(15_000),
  PRESENCE_HEARTBEAT_MS: int(100, 600_000).default(5_000),
  DISCOVERY: z.enum(['redis', 'kubernetes']).default('redis'),
  KUBERNETES_SERVICE: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes service name').optional(),
  POD_DELETION_COST_ENABLED: bool.optional(),
  REBALANCE_INTERVAL_MS: int(0, 3_600_000).default(10_000),
  REBALANCE_TOLERANCE_PERCENT: int(0, 1_000).default(20),
  REBALANCE_MAX_PER_INTERVAL: int(1, 1_000_000).default(100),
  CAPACITY_RESUME_PERCENT: int(1, 100).default(90),

  SHUTDOWN_TIMEOUT_MS: int(1_000, 3_600_000).default(25_000),
  /** Default: 40 % of SHUTDOWN_TIMEOUT_MS, at most 10 s, leaving at least 1 s (see loadConfig). */
  DRAIN_WINDOW_MS: int(0, 3_600_000).optional(),

  ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  DEV_PUBLISH_ENABLED: bool.optional(),
  DEV_SECRET_FILE: z.string().min(1).default('.orgcast-dev/jwt-secret'),
});

export type Env = z.infer<typeof envSchema>;
