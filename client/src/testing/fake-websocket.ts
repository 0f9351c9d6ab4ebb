import type { WebSocketFactory, WebSocketLike } from '../transport/websocket-like.js';

type Listener = (event: never) => void;

/** A scripted WebSocket: the test plays the server. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: string[] = [];
  /** The close the client asked for, if it did. */
  clientClose: { code: number | undefined; reason: string | undefined } | undefined;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(readonly url: string) {}

  get query(): URLSearchParams {
    return new URL(this.url).searchParams;
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= 2) return;
    this.clientClose = { code, reason };
    this.readyState = 2;
    queueMicrotask(() => this.closed(code ?? 1005, reason ?? ''));
  }

  // --- the server's side ---

  open(): void {
    this.readyState = 1;
    this.dispatch('open', {});
  }

  /** Opens (if needed) and sends connection.established. */
  establish(organizations: string[], extra: Record<string, unknown> = {}): void {
    if (this.readyState === 0) this.open();
    this.receive({
      event_type: 'connection.established',
      data: { connection_id: `c-${Math.random()}`, user_id: 'alice', organizations, heartbeat_interval_ms: 25_000, heartbeat_timeout_ms: 60_000, max_payload_bytes: 4096, pod: 'pod-a', token_expires_at: '2099-01-01T00:00:00.000Z', ...extra },
    });
  }

  receive(frame: unknown): void {
    this.dispatch('message', { data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  event(organizationId: string, id: string, eventType = 'task.event.created', data: unknown = { id }): void {
    this.receive({ event_type: eventType, id, organization_id: organizationId, data, timestamp: '2026-11-27T02:00:00.000Z' });
  }

  /** The server (or the network) closes the connection. */
  closed(code: number, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.dispatch('close', { code, reason });
  }

  /** A refused upgrade as `ws` reports it (browsers give no status: pass undefined). */
  refuse(httpStatus: number | undefined): void {
    this.dispatch('error', { message: httpStatus === undefined ? undefined : `Unexpected server response: ${httpStatus}` });
    this.closed(1006);
  }

  private dispatch(type: string, event: object): void {
    for (const listener of this.listeners.get(type) ?? []) (listener as (event: object) => void)(event);
  }
}

/** Records every socket the client creates. */
export class FakeWebSocketServer {
  readonly sockets: FakeSocket[] = [];
  readonly WebSocket: WebSocketFactory;

  constructor() {
    const sockets = this.sockets;
    this.WebSocket = class extends FakeSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    };
  }

  get last(): FakeSocket {
    const socket = this.sockets.at(-1);
    if (socket === undefined) throw new Error('no socket yet');
    return socket;
  }

  /** Sockets neither closed by the server nor by the client. */
  get live(): FakeSocket[] {
    return this.sockets.filter((s) => s.readyState < 2);
  }
}
