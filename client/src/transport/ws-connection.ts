import { ConnectError, ConnectionClosedError, HeartbeatTimeoutError, type OrgcastClientError, ProtocolError } from '../errors.js';
import { CloseCode } from '../protocol/close-codes.js';
import { PING_TEXT, type ConnectionEstablishedData, type ServerFrame } from '../protocol/frames.js';
import { parseServerFrame } from '../protocol/parse-frame.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';
import type { WebSocketFactory, WebSocketLike } from './websocket-like.js';

export interface WsConnectionOptions {
  readonly url: string;
  readonly WebSocket: WebSocketFactory;
  /** From construction to `connection.established`. */
  readonly connectTimeoutMs: number;
  /** How long a ping may stay unanswered. */
  readonly pongTimeoutMs: number;
}

/** How one WebSocket ended. Reported exactly once. */
export interface WsOutcome {
  /** The WebSocket opened (the upgrade succeeded). */
  readonly opened: boolean;
  /** `connection.established` arrived. */
  readonly established: boolean;
  /** The close code: the server's, 1006 for a dropped connection, or the one the client sent. */
  readonly code: number;
  /** HTTP status of a refused upgrade, when the WebSocket implementation tells (`ws` does, browsers do not). */
  readonly httpStatus: number | undefined;
  /** The client ended it: `heartbeat` (no pong), `timeout` (no established), `protocol`, or `closed` (asked to). */
  readonly endedBy: 'server' | 'heartbeat' | 'timeout' | 'protocol' | 'closed';
  readonly error: OrgcastClientError;
}

export interface WsConnectionHandlers {
  established(data: ConnectionEstablishedData): void;
  frame(frame: Exclude<ServerFrame, { kind: 'established' | 'pong' }>): void;
  protocolError(error: ProtocolError): void;
  ended(outcome: WsOutcome): void;
}

const UNEXPECTED_RESPONSE = /Unexpected server response: (\d{3})/;

/**
 * One WebSocket, from construction to its end: waits for `connection.established`, parses frames,
 * keeps the heartbeat, and reports how it ended. It never reconnects: the supervisor decides.
 */
export class WsConnection {
  private socket: WebSocketLike | undefined;
  private opened = false;
  private established = false;
  private httpStatus: number | undefined;
  private lastError: unknown;
  private heartbeat: Heartbeat | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private done = false;
  private readonly socketClosed: Promise<void>;
  private markSocketClosed: () => void = () => undefined;

  constructor(private readonly options: WsConnectionOptions, private readonly handlers: WsConnectionHandlers) {
    this.socketClosed = new Promise((resolve) => {
      this.markSocketClosed = resolve;
    });
    let socket: WebSocketLike;
    try {
      socket = new options.WebSocket(options.url);
    } catch (error) {
      this.markSocketClosed();
      queueMicrotask(() => this.end(1006, 'server', new ConnectError('cannot create the WebSocket', undefined, { cause: error })));
      return;
    }
    this.socket = socket;
    this.connectTimer = setTimeout(() => {
      this.abort(1000, 'connect timeout', 'timeout', new ConnectError(`no connection.established within ${options.connectTimeoutMs} ms`, undefined));
    }, options.connectTimeoutMs);
    socket.addEventListener('open', () => {
      this.opened = true;
    });
    socket.addEventListener('message', (event) => this.onMessage(event.data));
    socket.addEventListener('error', (event) => {
      this.lastError = event;
      const match = typeof event.message === 'string' ? UNEXPECTED_RESPONSE.exec(event.message) : null;
      if (match !== null) this.httpStatus = Number(match[1]);
    });
    socket.addEventListener('close', (event) => {
      this.markSocketClosed();
      this.end(event.code, 'server', this.closeError(event.code, event.reason));
    });
  }

  /** Closes the socket (1000 unless told otherwise); resolves when it is closed or after `graceMs`. */
  close(code: number = CloseCode.Normal, reason = '', graceMs = 1_000): Promise<void> {
    this.abort(code, reason, 'closed', new ConnectionClosedError(code, reason));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    return Promise.race([this.socketClosed, grace]).finally(() => clearTimeout(timer));
  }

  private onMessage(data: unknown): void {
    if (this.done) return;
    this.heartbeat?.received();
    if (typeof data !== 'string') {
      this.handlers.protocolError(new ProtocolError('binary frame from the gateway'));
      return;
    }
    let frame: ServerFrame;
    try {
      frame = parseServerFrame(data);
    } catch (error) {
      const protocolError = error instanceof ProtocolError ? error : new ProtocolError('unreadable frame', { cause: error });
      if (!this.established) this.abort(CloseCode.Normal, 'protocol error', 'protocol', protocolError);
      else this.handlers.protocolError(protocolError);
      return;
    }
    if (frame.kind === 'established') {
      if (this.established) return;
      this.established = true;
      clearTimeout(this.connectTimer);
      const data = frame.frame.data;
      this.heartbeat = startHeartbeat({
        sendPing: () => this.send(PING_TEXT),
        dead: () => this.abort(CloseCode.HeartbeatTimeout, 'heartbeat timeout', 'heartbeat', new HeartbeatTimeoutError(`no pong within ${this.options.pongTimeoutMs} ms`)),
      }, data.heartbeat_interval_ms, this.options.pongTimeoutMs);
      this.handlers.established(data);
      return;
    }
    if (frame.kind === 'pong') return;
    if (!this.established) {
      this.abort(CloseCode.Normal, 'protocol error', 'protocol', new ProtocolError(`${frame.kind} frame before connection.established`));
      return;
    }
    this.handlers.frame(frame);
  }

  /** Hands the gateway a fresh token for this connection (`auth.refresh`); the answer comes as a frame. */
  refreshToken(token: string): void {
    this.send(JSON.stringify({ event_type: 'auth.refresh', data: { token } }));
  }

  private send(text: string): void {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== 1) return;
    try {
      socket.send(text);
    } catch (error) {
      this.abort(1006, 'send failed', 'server', new ConnectionClosedError(1006, 'send failed', { cause: error }));
    }
  }

  /** Ends on the client's initiative: reports now, and closes the socket without waiting. */
  private abort(code: number, reason: string, endedBy: WsOutcome['endedBy'], error: OrgcastClientError): void {
    if (this.done) return;
    this.end(code, endedBy, error);
    try {
      this.socket?.close(code, reason);
    } catch (closeError) {
      // Some implementations throw when closing a socket that never opened: it is gone either way.
      this.lastError = closeError;
      this.markSocketClosed();
    }
  }

  private closeError(code: number, reason: string): OrgcastClientError {
    if (this.established) return new ConnectionClosedError(code, reason);
    const cause = this.lastError;
    if (this.httpStatus !== undefined) return new ConnectError(`upgrade refused with HTTP ${this.httpStatus}`, this.httpStatus, { cause });
    if (!this.opened) return new ConnectError(`cannot connect (close code ${code})`, undefined, { cause });
    return new ConnectError(`connection closed with ${code} before connection.established${reason === '' ? '' : `: ${reason}`}`, undefined, { cause });
  }

  private end(code: number, endedBy: WsOutcome['endedBy'], error: OrgcastClientError): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.connectTimer);
    this.heartbeat?.stop();
    this.handlers.ended({ opened: this.opened, established: this.established, code, httpStatus: this.httpStatus, endedBy, error });
  }
}
