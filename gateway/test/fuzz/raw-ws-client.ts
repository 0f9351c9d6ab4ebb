import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { exchange, type ExchangeResult } from './raw-http.js';
import { encodeFrame, FrameReader, Opcode } from './raw-ws.js';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptValue(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/**
 * A WebSocket opened over a raw socket: whatever the fuzzer writes goes out unchanged, and the
 * server's frames are sorted as they arrive. Task events and membership notices are only counted
 * (parsing them would be wasted work); answers, pongs and the close frame are kept.
 */
export class RawWebSocket {
  /** Text frames that answer client frames (`pong`, `error`), in order. */
  readonly answers: string[] = [];
  /** Payloads of the server's pong control frames, in order. */
  readonly pongs: Buffer[] = [];
  /** Other text frames that are neither events nor notices (there should be none). */
  readonly strays: string[] = [];
  events = 0;
  /** Code of the server's close frame; null when it had no code; undefined when none came. */
  closeCode: number | null | undefined;
  closed = false;
  private readonly reader = new FrameReader();
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: Socket, readonly established: string) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.resume();
    this.closed = socket.destroyed;
  }

  /** Upgrades with `token` and waits for `connection.established`; a refusal or a timeout is returned as text. */
  static async open(port: number, token: string, timeoutMs: number): Promise<RawWebSocket | string> {
    const key = randomBytes(16).toString('base64');
    const request = `GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`;
    const result: ExchangeResult = await exchange([Buffer.from(request)], { port, methods: ['GET'], timeoutMs, keepUpgraded: true });
    const socket = result.upgraded?.socket;
    if (socket === undefined) {
      const response = result.responses[0];
      return response === undefined ? `no upgrade (${result.ended})` : `HTTP ${response.status} ${response.body.toString().slice(0, 200)}`;
    }
    if (result.responses[0]?.headers['sec-websocket-accept'] !== acceptValue(key)) {
      socket.destroy();
      return 'wrong Sec-WebSocket-Accept';
    }
    const first = await firstText(socket, result.upgraded!.rest, timeoutMs);
    if (first === undefined) {
      socket.destroy();
      return 'no connection.established';
    }
    return new RawWebSocket(socket, first.text).replay(first.rest);
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves when `done()` holds or the socket closed; false on timeout. */
  until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        if (!done() && !this.closed) return false;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== listener);
        resolve(true);
        return true;
      };
      const listener = (): void => {
        check();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== listener);
        resolve(false);
      }, timeoutMs);
      if (!check()) this.waiters.push(listener);
    });
  }

  get protocolProblem(): string | undefined {
    return this.reader.problem;
  }

  private replay(rest: Buffer): this {
    if (rest.length > 0) this.receive(rest);
    return this;
  }

  private receive(chunk: Buffer): void {
    for (const frame of this.reader.push(chunk)) {
      if (frame.opcode === Opcode.Text) {
        const text = frame.payload.toString('utf8');
        if (text.startsWith('{"event_type":"task.event.') || text.startsWith('{"event_type":"organization.access.')) this.events += 1;
        else if (text === '{"event_type":"pong"}' || text.startsWith('{"event_type":"error"')) this.answers.push(text);
        else this.strays.push(text.slice(0, 300));
      } else if (frame.opcode === Opcode.Pong) {
        this.pongs.push(Buffer.from(frame.payload));
      } else if (frame.opcode === Opcode.Close) {
        this.closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null;
        // Answer the close as a client does, then let the server end the TCP connection.
        this.write(encodeFrame({ fin: true, rsv: 0, opcode: Opcode.Close, masked: true, maskKey: 0, payload: frame.payload.subarray(0, 2), length: 'minimal' }));
        setTimeout(() => this.socket.destroy(), 1_000).unref();
      } else if (frame.opcode === Opcode.Ping) {
        this.write(encodeFrame({ fin: true, rsv: 0, opcode: Opcode.Pong, masked: true, maskKey: 0, payload: frame.payload, length: 'minimal' }));
      }
    }
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Reads the first text frame (the server sends `connection.established` first). */
function firstText(socket: Socket, initial: Buffer, timeoutMs: number): Promise<{ text: string; rest: Buffer } | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const finish = (value: { text: string; rest: Buffer } | undefined): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const parsed = splitFirstFrame(buffered);
      if (parsed !== undefined) finish(parsed);
    };
    const onClose = (): void => finish(undefined);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.resume();
    if (initial.length > 0) onData(initial);
    if (socket.destroyed) finish(undefined);
  });
}

function splitFirstFrame(buf: Buffer): { text: string; rest: Buffer } | undefined {
  if (buf.length < 2) return undefined;
  let size = buf[1]! & 0x7f;
  let start = 2;
  if (size === 126) {
    if (buf.length < 4) return undefined;
    size = buf.readUInt16BE(2);
    start = 4;
  } else if (size === 127) {
    if (buf.length < 10) return undefined;
    size = Number(buf.readBigUInt64BE(2));
    start = 10;
  }
  if (buf.length < start + size) return undefined;
  return { text: buf.subarray(start, start + size).toString('utf8'), rest: buf.subarray(start + size) };
}
