/**
 * The few WebSocket (RFC 6455) pieces a load client needs: masked client frames and an
 * incremental parser of unmasked server frames that hands out payload *ranges* of the received
 * buffer (no copy, no string) so callers scan only the bytes they care about.
 */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** Servers ignore the key's value; a fixed one lets constant frames be built once and shared. */
const MASK = [0x6c, 0x74, 0x2d, 0x31] as const;

/** A final client frame: FIN, `opcode`, masked with the fixed key. */
export function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const header = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) {
    out[1] = 0x80 | len;
  } else if (len < 65_536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(0, 2);
    out.writeUInt32BE(len, 6);
  }
  for (let i = 0; i < 4; i++) out[header + i] = MASK[i]!;
  for (let i = 0; i < len; i++) out[header + 4 + i] = payload[i]! ^ MASK[i & 3]!;
  return out;
}

export function maskedText(text: string): Buffer {
  return maskedFrame(Opcode.Text, Buffer.from(text));
}

export function maskedClose(code: number): Buffer {
  const payload = Buffer.allocUnsafe(2);
  payload.writeUInt16BE(code, 0);
  return maskedFrame(Opcode.Close, payload);
}

export interface FrameSink {
  /** One complete frame; the payload is `buf[start, end)`, valid only during the call. */
  onFrame(opcode: number, fin: boolean, buf: Buffer, start: number, end: number): void;
}

/** A frame the parser refuses: masked server frame or absurd length. */
export const PARSE_ERROR = -1;

/** Largest frame payload accepted from a server (well above anything the gateway sends). */
const MAX_FRAME = 16 * 1024 * 1024;

/**
 * Parses every complete frame of `buf` from `offset` and returns the offset of the first byte not
 * consumed (the start of a partial frame, or buf.length), or PARSE_ERROR.
 */
export function parseFrames(buf: Buffer, offset: number, sink: FrameSink): number {
  let off = offset;
  const total = buf.length;
  while (total - off >= 2) {
    const b0 = buf[off]!;
    const b1 = buf[off + 1]!;
    if ((b1 & 0x80) !== 0) return PARSE_ERROR;
    let len = b1 & 0x7f;
    let header = 2;
    if (len === 126) {
      if (total - off < 4) break;
      len = buf.readUInt16BE(off + 2);
      header = 4;
    } else if (len === 127) {
      if (total - off < 10) break;
      if (buf.readUInt32BE(off + 2) !== 0) return PARSE_ERROR;
      len = buf.readUInt32BE(off + 6);
      header = 10;
    }
    if (len > MAX_FRAME) return PARSE_ERROR;
    const start = off + header;
    const end = start + len;
    if (end > total) break;
    sink.onFrame(b0 & 0x0f, (b0 & 0x80) !== 0, buf, start, end);
    off = end;
  }
  return off;
}

/** An unmasked server frame (for tests and the in-process fake servers). */
export function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const header = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) {
    out[1] = len;
  } else if (len < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(0, 2);
    out.writeUInt32BE(len, 6);
  }
  payload.copy(out, header);
  return out;
}

/** Reverses the fixed client mask (for tests). */
export function unmaskClientFrame(frame: Buffer): { opcode: number; payload: Buffer } {
  const b1 = frame[1]! & 0x7f;
  const header = b1 < 126 ? 2 : b1 === 126 ? 4 : 10;
  const len = b1 < 126 ? b1 : b1 === 126 ? frame.readUInt16BE(2) : frame.readUInt32BE(6);
  const mask = frame.subarray(header, header + 4);
  const payload = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) payload[i] = frame[header + 4 + i]! ^ mask[i & 3]!;
  return { opcode: frame[0]! & 0x0f, payload };
}
