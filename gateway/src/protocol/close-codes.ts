/**
 * WebSocket close codes the gateway sends. The range tells the client what to do:
 * - 1000–1999: standard codes; 1001/1011/1012/1013 are transient, reconnect with backoff.
 * - 4000–4099: transient, reconnect with backoff (resume from the last seen ids).
 * - 4100–4199: the credentials must change: fetch a fresh token, then reconnect.
 * - 4400–4499: terminal, do not reconnect automatically.
 */
export const CloseCode = {
  /** Normal closure initiated by the client. */
  Normal: 1000,
  /** The pod is going away (server shutdown without restart). */
  GoingAway: 1001,
  /** Frame type the gateway does not accept (binary frames). */
  UnsupportedData: 1003,
  /** Frame larger than MAX_PAYLOAD_BYTES. */
  MessageTooBig: 1009,
  /** Unexpected server error. */
  InternalError: 1011,
  /** The pod is restarting or draining: reconnect (another pod will take the connection). */
  ServiceRestart: 1012,
  /** Try again later (overloaded). */
  TryAgainLater: 1013,

  /** The client did not read fast enough; its outgoing buffer overflowed. Reconnect and resume. */
  SlowConsumer: 4000,
  /** No traffic within the heartbeat timeout. Reconnect. */
  HeartbeatTimeout: 4001,
  /** The pod is rebalancing connections after scale-out. Reconnect (with jitter already applied). */
  Rebalance: 4002,
  /** Sustained client message rate above the limit. Reconnect after a pause. */
  RateLimited: 4008,

  /** The token expired while the connection was open. Get a fresh token, then reconnect. */
  TokenExpired: 4100,

  /** Too many malformed frames: a protocol violation. Do not reconnect automatically. */
  ProtocolViolation: 4400,
  /** The user was disconnected by an operator or lost access. Do not reconnect automatically. */
  Revoked: 4403,
  /** The user holds too many connections (MAX_CONNECTIONS_PER_USER). Do not reconnect automatically. */
  TooManyConnections: 4429,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export type CloseAdvice = 'reconnect' | 'refresh-token' | 'stop';

/** What a client should do after receiving `code`. */
export function closeAdvice(code: number): CloseAdvice {
  if (code >= 4100 && code < 4200) return 'refresh-token';
  if (code >= 4400 && code < 4500) return 'stop';
  if (code === CloseCode.Normal || code === CloseCode.UnsupportedData) return 'stop';
  return 'reconnect';
}
