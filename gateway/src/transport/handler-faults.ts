import type { Logger } from 'pino';
import type { GatewayMetrics, HandlerName } from '../metrics/metrics.js';

/**
 * Contains an exception thrown inside a uWS callback to the one socket or request it concerns: an
 * exception escaping a native callback would end the process, and with it every connection.
 */
export interface HandlerFaults {
  /** Runs `work`; on a throw, logs and counts it, then runs `contain` (itself guarded). */
  run(handler: HandlerName, work: () => void, contain: (error: unknown) => void): void;
  /** Logs and counts an exception caught elsewhere (a rejected promise of a handler). */
  report(handler: HandlerName, error: unknown): void;
}

export function createHandlerFaults(logger: Logger, metrics: Pick<GatewayMetrics, 'handlerErrors'>): HandlerFaults {
  function report(handler: HandlerName, error: unknown): void {
    metrics.handlerErrors.inc({ handler });
    logger.error({ err: error, handler }, 'unexpected exception in a handler; contained to its socket or request');
  }
  return {
    run(handler, work, contain) {
      try {
        work();
      } catch (error) {
        report(handler, error);
        try {
          contain(error);
        } catch (second) {
          logger.error({ err: second, handler }, 'could not answer or close after an unexpected exception');
        }
      }
    },
    report,
  };
}
