/**
 * WebSocket frames at the byte level (RFC 6455 section 5): the `ws` package refuses to send most of
 * what the fuzzer needs (unmasked client frames, reserved opcodes and bits, oversized control
 * frames, non-minimal lengths, broken fragmentation).
 */

export const Opcode = { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

export interface WireFrame {
  readonly fin: boolean;
  /** RSV1..RSV3 as a 3-bit number (0 unless an extension was negotiated, and none is). */
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly maskKey: number;
  readonly payload: Uint8Array;
  /** The length field: the shortest form, a longer one than needed, or the 64-bit form with its top bit set. */
  readonly length: 'minimal' | '16' | '64' | '64-msb';
}

export function encodeFrame(frame: WireFrame): Buffer {
  const { payload } = frame;
  const size = payload.byteLength;
  const mask = frame.masked ? 0x80 : 0;
  const form = frame.length === 'minimal' ? (size < 126 ? '7' : size < 65_536 ? '16' : '64') : frame.length === '16' && size >= 65_536 ? '64' : frame.length;
  const headerSize = 2 + (form === '7' ? 0 : form === '16' ? 2 : 8) + (frame.masked ? 4 : 0);
  const out = Buffer.allocUnsafe(headerSize + size);
  out[0] = (frame.fin ? 0x80 : 0) | ((frame.rsv & 7) << 4) | (frame.opcode & 15);
  let offset = 2;
  if (form === '7') {
    out[1] = mask | size;
  } else if (form === '16') {
    out[1] = mask | 126;
    out.writeUInt16BE(size, 2);
    offset = 4;
  } else {
    out[1] = mask | 127;
    out.writeBigUInt64BE(BigInt(size) | (form === '64-msb' ? 1n << 63n : 0n), 2);
    offset = 10;
  }
  if (frame.masked) {
    out.writeUInt32BE(frame.maskKey >>> 0, offset);
    const key = out.subarray(offset, offset + 4);
    offset += 4;
    for (let i = 0; i < size; i += 1) out[offset + i] = payload[i]! ^ key[i & 3]!;
  } else {
    out.set(payload, offset);
  }
  return out;
}

export interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** Splits the server's byte stream into frames; reassembles fragmented messages. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  /** Set when the server sent something a server must not (a masked frame, a bad length). */
  problem: string | undefined;

  push(chunk: Buffer): ServerFrame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: ServerFrame[] = [];
    let offset = 0;
    for (;;) {
      const frame = this.next(offset);
      if (frame === undefined) break;
      offset = frame.end;
      const { fin, opcode, payload } = frame;
      if (opcode >= 8) {
        frames.push({ opcode, payload });
      } else if (opcode === Opcode.Continuation) {
        this.fragments.push(payload);
        if (fin) {
          frames.push({ opcode: this.fragmentOpcode, payload: Buffer.concat(this.fragments) });
          this.fragments = [];
        }
      } else if (fin) {
        frames.push({ opcode, payload });
      } else {
        this.fragmentOpcode = opcode;
        this.fragments = [payload];
      }
    }
    this.buffer = offset === 0 ? this.buffer : this.buffer.subarray(offset);
    return frames;
  }

  private next(offset: number): { fin: boolean; opcode: number; payload: Buffer; end: number } | undefined {
    const buf = this.buffer;
    if (buf.length - offset < 2) return undefined;
    const first = buf[offset]!;
    const second = buf[offset + 1]!;
    if ((second & 0x80) !== 0) this.problem ??= 'the server sent a masked frame';
    let size = second & 0x7f;
    let start = offset + 2;
    if (size === 126) {
      if (buf.length - offset < 4) return undefined;
      size = buf.readUInt16BE(offset + 2);
      start = offset + 4;
    } else if (size === 127) {
      if (buf.length - offset < 10) return undefined;
      const long = buf.readBigUInt64BE(offset + 2);
      if (long > BigInt(Number.MAX_SAFE_INTEGER)) {
        this.problem ??= 'the server sent a frame length beyond 2^53';
        return undefined;
      }
      size = Number(long);
      start = offset + 10;
    }
    if ((second & 0x80) !== 0) start += 4;
    if (buf.length < start + size) return undefined;
    return { fin: (first & 0x80) !== 0, opcode: first & 15, payload: buf.subarray(start, start + size), end: start + size };
  }
}
