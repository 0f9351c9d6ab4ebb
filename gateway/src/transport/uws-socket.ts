import type { WebSocket } from 'uWebSockets.js';
import type { SocketPort } from '../session/socket-port.js';

/** SocketPort over a uWS WebSocket. Only valid until uWS calls `close` for it. */
export class UwsSocket<U> implements SocketPort {
  constructor(private readonly ws: WebSocket<U>) {}

  send(text: string): boolean {
    return this.ws.send(text, false, false) !== 2;
  }

  ping(): void {
    this.ws.ping();
  }

  end(code: number, reason: string): void {
    this.ws.end(code, reason);
  }

  subscribe(topic: string): void {
    this.ws.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    this.ws.unsubscribe(topic);
  }

  bufferedAmount(): number {
    return this.ws.getBufferedAmount();
  }
}
