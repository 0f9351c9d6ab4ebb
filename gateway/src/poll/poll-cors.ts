import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { replyError } from '../transport/http-reply.js';
import type { PublicRoute } from '../transport/public-server.js';

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
  preflightRoute(): PublicRoute {
    return {
      method: 'options',
      pattern: '/api/poll',
      handle: (res: HttpResponse, req: HttpRequest) => {
        const allowed = this.headers(req.getHeader('origin') || undefined);
        if (allowed['access-control-allow-origin'] === undefined) {
          replyError(res, 403, 'forbidden_origin', 'origin not allowed');
          return;
        }
        res.writeStatus('204 No Content');
        for (const [name, value] of Object.entries(allowed)) res.writeHeader(name, value);
        res.writeHeader('access-control-allow-methods', 'GET');
        res.writeHeader('access-control-allow-headers', 'authorization');
        res.writeHeader('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS));
        res.endWithoutBody();
      },
    };
  }
}
