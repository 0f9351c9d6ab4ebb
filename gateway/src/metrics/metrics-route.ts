import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { replyError, type HttpRoute } from '../http/http-exchange.js';

/** `GET /metrics`: the registry in the Prometheus text format. */
export function createMetricsRoute(registry: Registry, logger: Logger): HttpRoute {
  return {
    method: 'get',
    pattern: '/metrics',
    handle: (exchange) => {
      registry.metrics().then(
        (text) => exchange.reply(200, { 'content-type': registry.contentType }, text),
        (error: unknown) => {
          logger.error({ err: error }, 'metrics collection failed');
          replyError(exchange, 500, 'internal', 'metrics collection failed');
        },
      );
    },
  };
}
