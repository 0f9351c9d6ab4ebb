import type { HttpExchange } from '../http/http-exchange.js';

/** Why a request to `/api/ws` is not a WebSocket handshake uWS should accept, or undefined when it is one. */
export interface HandshakeProblem {
  readonly status: 400 | 426;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * RFC 6455 4.2.1 on top of what uWS checks: `Upgrade` lists `websocket`, `Connection` lists
 * `Upgrade`, `Sec-WebSocket-Key` is the base64 of 16 bytes, and `Sec-WebSocket-Version` is 13
 * (otherwise 426 with the version the server speaks).
 */
export function handshakeProblem(exchange: HttpExchange): HandshakeProblem | undefined {
  if (!listsToken(exchange.header('upgrade'), 'websocket')) return { status: 400, message: 'not a WebSocket handshake: the Upgrade header must list websocket', headers: {} };
  if (!listsToken(exchange.header('connection'), 'upgrade')) return { status: 400, message: 'not a WebSocket handshake: the Connection header must list Upgrade', headers: {} };
  const key = exchange.header('sec-websocket-key') ?? '';
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return { status: 400, message: 'Sec-WebSocket-Key must be the base64 of 16 random bytes', headers: {} };
  if (exchange.header('sec-websocket-version') !== '13') return { status: 426, message: 'this server speaks WebSocket version 13', headers: { 'sec-websocket-version': '13' } };
  return undefined;
}

/** Whether a comma-separated header value lists `token` (case-insensitive). */
function listsToken(value: string | undefined, token: string): boolean {
  return value !== undefined && value.split(',').some((part) => part.trim().toLowerCase() === token);
}
