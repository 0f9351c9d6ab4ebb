import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { replyError, type HttpRoute } from '../http/http-exchange.js';
import type { HandlerFaults } from './handler-faults.js';
import { MAX_REQUEST_HEAD_BYTES } from './uws-settings.js';
import { UwsExchange } from './uws-exchange.js';

/**
 * Reads a request into an exchange, refusing (JSON 431) one whose request line and headers exceed
 * MAX_REQUEST_HEAD_BYTES; undefined when it was refused.
 */
export function admitExchange(res: HttpResponse, req: HttpRequest): UwsExchange | undefined {
  const exchange = new UwsExchange(res, req);
  if (exchange.headBytes <= MAX_REQUEST_HEAD_BYTES) return exchange;
  replyError(exchange, 431, 'headers_too_large', `request line and headers must be at most ${MAX_REQUEST_HEAD_BYTES} bytes`);
  return undefined;
}

/**
 * Registers `routes` on `app`, each behind the head limit and the fault guard (an exception answers
 * 500), then a JSON 404 for everything else.
 */
export function serveRoutes(app: TemplatedApp, routes: readonly HttpRoute[], faults: HandlerFaults, notFound: string): void {
  const serve = (handle: (exchange: UwsExchange) => void) => (res: HttpResponse, req: HttpRequest): void => {
    let exchange: UwsExchange | undefined;
    faults.run('http', () => {
      exchange = admitExchange(res, req);
      if (exchange !== undefined) handle(exchange);
    }, () => {
      if (exchange === undefined) res.cork(() => res.writeStatus('500 Internal Server Error').end('{"error":"internal","message":"internal error"}'));
      else replyError(exchange, 500, 'internal', 'internal error');
    });
  };
  for (const route of routes) app[route.method](route.pattern, serve((exchange) => route.handle(exchange)));
  app.any('/*', serve((exchange) => replyError(exchange, 404, 'not_found', notFound)));
}
