/**
 * WebSocket close codes the gateway sends: a copy of gateway/src/protocol/close-codes.ts, kept
 * identical by close-codes.test.ts so the SDK does not depend on the gateway package.
 *
 * The range tells the client what to do:
 * - 1000–1999: standard codes; 1001/1011/1012/1013 are transient, reconnect with backoff.
 * - 4000–4099: transient, reconnect with backoff (resume from the last seen ids).
 * - 4100–4199: the credentials must change: fetch a fresh token, then reconnect.
 * - 4400–4499: terminal, do not reconnect automatically.
 */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  UnsupportedData: 1003,
  MessageTooBig: 1009,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,

  SlowConsumer: 4000,
  HeartbeatTimeout: 4001,
  Rebalance: 4002,
  RateLimited: 4008,

  TokenExpired: 4100,

  ProtocolViolation: 4400,
  Revoked: 4403,
  TooManyConnections: 4429,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export type CloseAdvice = 'reconnect' | 'refresh-token' | 'stop';

/** What a client should do after receiving `code`, as the gateway documents it. */
export function closeAdvice(code: number): CloseAdvice {
  if (code >= 4100 && code < 4200) return 'refresh-token';
  if (code >= 4400 && code < 4500) return 'stop';
  if (code === CloseCode.Normal || code === CloseCode.UnsupportedData) return 'stop';
  return 'reconnect';
}
