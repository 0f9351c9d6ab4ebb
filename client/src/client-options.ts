import { ClientOptionsError } from './errors.js';
import type { SupervisorSettings } from './connection/supervisor.js';
import { resolveEndpoints } from './transport/endpoints.js';
import type { FetchLike, WebSocketFactory } from './transport/websocket-like.js';

export interface ClientOptions {
  /**
   * The gateway's base URL: `https://rt.example.com` (or `wss://…`, or `…/api/ws`). In browsers it
   * may be relative to the page (`/`). The client derives `/api/ws` and `/api/poll` from it.
   */
  readonly url: string;
  /**
   * Returns the JWT. Called before the first connection, after a `41xx` close (token expired), after
   * a 401 from `/api/poll`, and after a WebSocket attempt that failed before opening (browsers cannot
   * tell a 401 from a network error). Cache the token yourself if fetching one is expensive.
   */
  readonly getToken: () => string | Promise<string>;
  /** WebSocket implementation; default `globalThis.WebSocket`. In Node 20 pass the `ws` package. */
  readonly WebSocket?: WebSocketFactory;
  /** fetch implementation for `/api/poll`; default `globalThis.fetch`. */
  readonly fetch?: FetchLike;
  /** Upper bound of the first reconnect delay (full jitter). Default 500. */
  readonly baseDelayMs?: number;
  /** Upper bound of any reconnect delay. Default 30000. */
  readonly maxDelayMs?: number;
  /** Consecutive failed attempts (WebSocket or poll) after which the client closes. Default Infinity. */
  readonly maxAttempts?: number;
  /** Fall back to `/api/poll` when the WebSocket fails. Default true (when fetch exists). */
  readonly polling?: boolean;
  /** Failed WebSocket attempts in a row before polling; 0 polls from the start. Default 3. */
  readonly pollingAfterFailures?: number;
  /** How long the gateway may hold a poll when there is nothing new. Default 25000. */
  readonly pollTimeoutMs?: number;
  /** While polling, how often (±50 % jitter) to try the WebSocket again. Default 30000. */
  readonly upgradeIntervalMs?: number;
  /** A WebSocket attempt without `connection.established` after this long has failed. Default 10000. */
  readonly connectTimeoutMs?: number;
  /** A ping unanswered this long means the connection is dead. Default 10000. Pings are sent every `heartbeat_interval_ms` the gateway announces. */
  readonly pongTimeoutMs?: number;
  /** Random numbers in [0, 1) for jitter; default Math.random. */
  readonly random?: () => number;
  /**
   * The value of the `affinity` query parameter sent on every WebSocket upgrade and poll: the key
   * the chart's load balancers hash on (`stickiness`). Default: a random key per client, kept across
   * reconnects and replaced after a rebalance close (4002), so that the balancer may place the
   * client on another pod. A fixed value (a user id, an organization id) is never replaced.
   */
  readonly affinityKey?: string;
}

/** Validates the options up front (throws ClientOptionsError naming every problem) and applies defaults. */
export function resolveOptions(options: ClientOptions): SupervisorSettings {
  const problems: string[] = [];
  const positive = (name: keyof ClientOptions, fallback: number, allowZero = false): number => {
    const value = options[name] ?? fallback;
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowZero && value === 0)) {
      problems.push(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
      return fallback;
    }
    return value;
  };
  const finite = (name: keyof ClientOptions, value: number): void => {
    if (!Number.isFinite(value)) problems.push(`${name} must be finite`);
  };

  if (typeof options.getToken !== 'function') problems.push('getToken must be a function');
  const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
  if (typeof WebSocket !== 'function') problems.push('no WebSocket implementation: pass options.WebSocket (in Node 20, the ws package)');
  const globalFetch = (globalThis as { fetch?: FetchLike }).fetch;
  const fetch = options.fetch ?? (globalFetch === undefined ? undefined : globalFetch.bind(globalThis));
  const polling = options.polling ?? fetch !== undefined;
  if (polling && typeof fetch !== 'function') problems.push('polling needs fetch: pass options.fetch or polling: false');

  const baseDelayMs = positive('baseDelayMs', 500);
  const maxDelayMs = positive('maxDelayMs', 30_000);
  finite('baseDelayMs', baseDelayMs);
  finite('maxDelayMs', maxDelayMs);
  if (maxDelayMs < baseDelayMs) problems.push('maxDelayMs must be at least baseDelayMs');
  const maxAttempts = positive('maxAttempts', Number.POSITIVE_INFINITY);
  if (Number.isFinite(maxAttempts) && !Number.isInteger(maxAttempts)) problems.push('maxAttempts must be an integer or Infinity');
  const pollingAfterFailures = positive('pollingAfterFailures', 3, true);
  if (!Number.isInteger(pollingAfterFailures)) problems.push('pollingAfterFailures must be an integer');
  const pollTimeoutMs = positive('pollTimeoutMs', 25_000, true);
  const upgradeIntervalMs = positive('upgradeIntervalMs', 30_000);
  const connectTimeoutMs = positive('connectTimeoutMs', 10_000);
  const pongTimeoutMs = positive('pongTimeoutMs', 10_000);
  for (const name of ['pollTimeoutMs', 'upgradeIntervalMs', 'connectTimeoutMs', 'pongTimeoutMs'] as const) finite(name, options[name] ?? 0);

  if (options.affinityKey !== undefined && (typeof options.affinityKey !== 'string' || options.affinityKey.length === 0 || options.affinityKey.length > 256)) {
    problems.push('affinityKey must be a string of 1 to 256 characters');
  }

  let endpoints: SupervisorSettings['endpoints'] | undefined;
  try {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    endpoints = resolveEndpoints(options.url, base);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  if (problems.length > 0 || endpoints === undefined) throw new ClientOptionsError(`invalid client options: ${problems.join('; ')}`);

  return {
    endpoints,
    getToken: options.getToken,
    WebSocket: WebSocket!,
    fetch: polling ? fetch : undefined,
    baseDelayMs,
    maxDelayMs,
    maxAttempts,
    pollingAfterFailures,
    pollTimeoutMs,
    pollGraceMs: 10_000,
    upgradeIntervalMs,
    connectTimeoutMs,
    pongTimeoutMs,
    random: options.random ?? Math.random,
    affinityKey: options.affinityKey,
  };
}
