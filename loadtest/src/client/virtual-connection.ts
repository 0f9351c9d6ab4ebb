import { connect, type Socket } from 'node:net';
import { Opcode, PARSE_ERROR, maskedClose, maskedFrame, parseFrames, type FrameSink } from '../ws/frame-codec.js';
import { parseUpgradeResponse } from '../ws/upgrade.js';

export const ConnState = {
  Idle: 0,
  /** TCP connect and HTTP upgrade in flight. */
  Upgrading: 1,
  /** Upgraded, waiting for the protocol's "established". */
  Upgraded: 2,
  Open: 3,
  Closed: 4,
} as const;
export type ConnState = (typeof ConnState)[keyof typeof ConnState];

/**
 * All connections of a process read into this one buffer (net's `onread`): no Buffer is allocated
 * per read and the stream machinery is skipped. Safe because each read is handled synchronously
 * before the next; anything kept across reads (a partial frame) is copied out.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Close code recorded when the TCP connection ended without a close frame. */
export const ABNORMAL_CLOSE = 1006;

/** The client process that owns the connections: gets their text frames and their ends. */
export interface ConnectionHost {
  onText(conn: VirtualConnection, buf: Buffer, start: number, end: number): void;
  /** Called once per chunk of data before its frames, so a chunk's frames share one timestamp. */
  onChunk(): void;
  onUpgraded(conn: VirtualConnection): void;
  onRefused(conn: VirtualConnection, status: number, error: string | undefined): void;
  /** A socket error (its code: ECONNRESET, ECONNREFUSED…); 'close' follows. */
  onSocketError(conn: VirtualConnection, code: string): void;
  /** The socket is gone; `state` is the state it was in. */
  onClosed(conn: VirtualConnection, state: ConnState, code: number): void;
}

export interface OpenOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress: string;
  readonly request: string;
}

/**
 * One lean WebSocket client connection over node:net: writes the upgrade, checks the status, then
 * parses frames straight out of the received chunks (a partial frame is carried to the next one),
 * answers pings and close frames, and hands text frames to the host as byte ranges.
 */
export class VirtualConnection implements FrameSink {
  state: ConnState = ConnState.Idle;
  private socket: Socket | undefined;
  private carry: Buffer | undefined;
  private fragments: Buffer[] | undefined;
  private fragmentOpcode = 0;
  private closeCode = ABNORMAL_CLOSE;
  /** Monotonic µs when the current attempt started / the connection last dropped. */
  startedAtUs = 0;
  droppedAtUs = 0;
  attempts = 0;
  /** Established when the measured phase began (its deliveries are then expected). */
  counted = false;
  everEstablished = false;
  /** The connect timeout of the attempt in flight. */
  timer: NodeJS.Timeout | undefined;
  /** Last event id per layer (only when ids are tracked). */
  lastIds: Array<string | undefined> | undefined;

  constructor(
    readonly index: number,
    readonly user: number,
    readonly token: string,
    private readonly host: ConnectionHost,
  ) {}

  open(options: OpenOptions): void {
    this.state = ConnState.Upgrading;
    this.carry = undefined;
    this.fragments = undefined;
    this.closeCode = ABNORMAL_CLOSE;
    const socket = connect({
      host: options.host,
      port: options.port,
      localAddress: options.localAddress,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number, buf: Uint8Array) => {
          this.onData(Buffer.from(buf.buffer, buf.byteOffset, bytes));
          return true;
        },
      },
    });
    this.socket = socket;
    socket.on('connect', () => socket.write(options.request));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The 'close' event follows and reports the end (with the close frame's code if one came
      // before the error, e.g. a write racing the server's close); the error's code is counted.
      this.host.onSocketError(this, error.code ?? error.name);
    });
    socket.on('close', () => {
      const state = this.state;
      this.state = ConnState.Closed;
      this.socket = undefined;
      this.carry = undefined;
      this.host.onClosed(this, state, this.closeCode);
    });
  }

  write(frame: Buffer): void {
    if (this.socket !== undefined && this.state !== ConnState.Closed) this.socket.write(frame);
  }

  /** Sends a close frame and ends the TCP connection. */
  close(code = 1000): void {
    if (this.socket === undefined) return;
    if (this.state === ConnState.Open || this.state === ConnState.Upgraded) this.socket.write(maskedClose(code));
    this.socket.end();
  }

  destroy(): void {
    this.socket?.destroy();
  }

  /** `chunk` is only valid during the call (it is the shared read buffer). */
  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry !== undefined) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    let offset = 0;
    if (this.state === ConnState.Upgrading) {
      const response = parseUpgradeResponse(buf);
      if (!response.complete) {
        this.carry = Buffer.from(buf);
        return;
      }
      if (response.status !== 101) {
        this.host.onRefused(this, response.status, response.error);
        this.socket?.destroy();
        return;
      }
      this.state = ConnState.Upgraded;
      this.host.onUpgraded(this);
      offset = response.bodyStart;
    }
    this.host.onChunk();
    const next = parseFrames(buf, offset, this);
    if (next === PARSE_ERROR) {
      this.host.onSocketError(this, `PROTOCOL ${buf.toString('hex', offset, Math.min(buf.length, offset + 48))}`);
      this.socket?.destroy();
      return;
    }
    // Copy a partial frame out so the (possibly large, shared) chunk is not retained.
    if (next < buf.length && this.socket !== undefined) this.carry = Buffer.from(buf.subarray(next));
  }

  onFrame(opcode: number, fin: boolean, buf: Buffer, start: number, end: number): void {
    if (opcode === Opcode.Text && fin && this.fragments === undefined) {
      this.host.onText(this, buf, start, end);
      return;
    }
    switch (opcode) {
      case Opcode.Text:
      case Opcode.Binary:
        this.fragments = [Buffer.from(buf.subarray(start, end))];
        this.fragmentOpcode = opcode;
        if (fin) this.flushFragments();
        return;
      case Opcode.Continuation:
        this.fragments?.push(Buffer.from(buf.subarray(start, end)));
        if (fin) this.flushFragments();
        return;
      case Opcode.Ping:
        this.write(maskedFrame(Opcode.Pong, Buffer.from(buf.subarray(start, end))));
        return;
      case Opcode.Close:
        this.closeCode = end - start >= 2 ? buf.readUInt16BE(start) : 1005;
        this.write(maskedClose(this.closeCode === 1005 ? 1000 : this.closeCode));
        this.socket?.end();
        return;
      default:
        return;
    }
  }

  private flushFragments(): void {
    const whole = Buffer.concat(this.fragments ?? []);
    const opcode = this.fragmentOpcode;
    this.fragments = undefined;
    if (opcode === Opcode.Text) this.host.onText(this, whole, 0, whole.length);
  }
}
