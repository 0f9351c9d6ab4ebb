import type { Logger } from 'pino';
import { replyJson, type HttpRoute } from '../http/http-exchange.js';
import type { ReadinessReport } from './readiness.js';

/**
 * `GET /healthz`: cheap and independent of dependencies (the event loop answers, so the process
 * lives). `GET /readyz`: 200 or 503 with every check's outcome.
 */
export function createHealthRoutes(readiness: () => Promise<ReadinessReport>, logger: Logger): HttpRoute[] {
  return [
    { method: 'get', pattern: '/healthz', handle: (exchange) => replyJson(exchange, 200, { status: 'ok' }) },
    {
      method: 'get',
      pattern: '/readyz',
      handle: (exchange) => {
        readiness().then(
          (report) => replyJson(exchange, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not_ready', checks: report.checks }),
          (error: unknown) => {
            logger.error({ err: error }, 'readiness evaluation failed');
            replyJson(exchange, 503, { status: 'not_ready', checks: {} });
          },
        );
      },
    },
  ];
}
