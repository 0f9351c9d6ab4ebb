import { replyError, type HttpRoute } from '../http/http-exchange.js';

/** How long a browser may cache the preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for `/api/poll`, so that a page on another origin can long-poll (a WebSocket needs none).
 * The same origins as for upgrades: any, when `ALLOWED_ORIGINS` is unset (`*`: the token travels in
 * the Authorization header or the query, never in cookies, so no credentials mode is involved), else
 * only those listed, echoed back with `Vary: Origin`. A request without `Origin` gets no CORS headers.
 */
export class PollCors {
  private readonly origins: ReadonlySet<string> | undefined;

  constructor(allowedOrigins: readonly string[] | undefined) {
    this.origins = allowedOrigins === undefined ? undefined : new Set(allowedOrigins);
  }

  /** Headers for a response to a request from `origin`; empty when it may not read it. */
  headers(origin: string | undefined): Record<string, string> {
    if (origin === undefined) return {};
    if (this.origins === undefined) return { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'retry-after' };
    return this.origins.has(origin) ? { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'retry-after', vary: 'Origin' } : {};
  }

  /** `OPTIONS /api/poll`: 204 with what a poll may send, or 403 for an origin that may not poll. */
  preflightRoute(): HttpRoute {
    return {
      method: 'options',
      pattern: '/api/poll',
      handle: (exchange) => {
        const allowed = this.headers(exchange.header('origin'));
        if (allowed['access-control-allow-origin'] === undefined) {
          replyError(exchange, 403, 'forbidden_origin', 'origin not allowed');
          return;
        }
        exchange.reply(204, {
          ...allowed,
          'access-control-allow-methods': 'GET, POST',
          'access-control-allow-headers': 'authorization, content-type',
          'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
        });
      },
    };
  }
}
