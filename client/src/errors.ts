/** Every error the SDK reports is an OrgcastClientError: `name` tells which, `cause` keeps the origin. */
export class OrgcastClientError extends Error {
  override readonly name: string = 'OrgcastClientError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `createClient` was given options it cannot work with. */
export class ClientOptionsError extends OrgcastClientError {
  override readonly name = 'ClientOptionsError';
}

/** `getToken` threw, rejected or returned something other than a non-empty string. */
export class TokenError extends OrgcastClientError {
  override readonly name = 'TokenError';
}

/**
 * A WebSocket attempt failed before `connection.established`: network error, refused upgrade
 * (`httpStatus` when the WebSocket implementation exposes it; browsers never do), or timeout.
 */
export class ConnectError extends OrgcastClientError {
  override readonly name = 'ConnectError';

  constructor(message: string, readonly httpStatus: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The WebSocket closed with `code` (from the gateway, a proxy, or the network: 1006). */
export class ConnectionClosedError extends OrgcastClientError {
  override readonly name = 'ConnectionClosedError';

  constructor(readonly code: number, readonly reason: string, options?: { cause?: unknown }) {
    super(`connection closed with ${code}${reason === '' ? '' : `: ${reason}`}`, options);
  }
}

/** No `pong` (nor any other frame) arrived within the heartbeat timeout: the connection is dead. */
export class HeartbeatTimeoutError extends OrgcastClientError {
  override readonly name = 'HeartbeatTimeoutError';
}

/** `GET /api/poll` failed: network error (`status` undefined) or an HTTP refusal. */
export class PollError extends OrgcastClientError {
  override readonly name = 'PollError';

  /** How long the gateway asked to wait (`Retry-After`), if it did. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, readonly status: number | undefined, readonly code: string | undefined, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** The gateway sent something that does not follow docs/protocol.md. */
export class ProtocolError extends OrgcastClientError {
  override readonly name = 'ProtocolError';
}

/** An `error` frame from the gateway (the connection stays open). */
export class ServerError extends OrgcastClientError {
  override readonly name = 'ServerError';

  constructor(readonly code: string, message: string) {
    super(`gateway error ${code}: ${message}`);
  }
}
