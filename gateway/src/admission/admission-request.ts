import type { HttpExchange } from '../http/http-exchange.js';
import type { UpgradeRequest } from './admission.js';

/** What admission reads of an upgrade or poll request: the one place it is taken from HTTP. */
export function admissionRequestOf(exchange: HttpExchange): UpgradeRequest {
  return {
    remoteAddress: exchange.remoteAddress,
    forwardedFor: exchange.header('x-forwarded-for'),
    origin: exchange.header('origin'),
    authorization: exchange.header('authorization') ?? '',
    query: exchange.query,
  };
}
