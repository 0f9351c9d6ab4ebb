import fc from 'fast-check';
import { applyMutations, mutationArbitrary } from './mutation.js';
import { Opcode, type WireFrame } from './raw-ws.js';

/**
 * Client frames on an open connection, grouped in items (one message, possibly fragmented, or one
 * control frame). Each item says what docs/protocol.md and RFC 6455 make the server do with it.
 */

export type Answer =
  /** `{"event_type":"pong"}`. */
  | { readonly type: 'pong-frame' }
  /** An `error` frame with one of these codes. `malformed` ones count towards MALFORMED_FRAME_LIMIT. */
  | { readonly type: 'error'; readonly codes: readonly string[]; readonly malformed: boolean };

export type ItemEffect =
  /** A text or binary message within MAX_PAYLOAD_BYTES: exactly one JSON answer (or `rate_limited`). */
  | { readonly type: 'answer'; readonly answer: Answer }
  /** A ping control frame: a pong with the same payload. */
  | { readonly type: 'pong'; readonly payload: Buffer }
  /** A pong control frame: nothing. */
  | { readonly type: 'silent' }
  /** A message above MAX_PAYLOAD_BYTES (below the hard cap): close 1009. */
  | { readonly type: 'too-big' }
  /** A message above the hard cap: cut off (1006), or 1009. */
  | { readonly type: 'cut' }
  /** A protocol violation: the server fails the connection. */
  | { readonly type: 'fail'; readonly rule: string }
  /** A close frame: the server closes. */
  | { readonly type: 'closing' }
  /** We drop the connection in the middle of a frame. */
  | { readonly type: 'abort' }
  /**
   * An unmasked frame: the transport reads it as masked (docs/protocol.md, "Heartbeats"), so what
   * follows is not predictable (an error frame, a close, or a frame still incomplete): anything but
   * a 1011 or a crash; we drop the connection after it.
   */
  | { readonly type: 'garbled' };

export interface FrameItem {
  /** Low-cardinality name of the generator (part of violation keys). */
  readonly label: string;
  readonly frames: readonly WireFrame[];
  /** What the server does, in order (a fragmented message with a ping inside: a pong, then the answer). */
  readonly effects: readonly ItemEffect[];
  /** For `abort`: how many bytes of the encoded frames are written before the drop. */
  readonly keepBytes?: number;
}

export interface FrameBatch {
  readonly items: readonly FrameItem[];
  /** Cut points (fractions) of the batch's bytes into separate writes. */
  readonly splits: readonly number[];
}

export interface FrameContext {
  readonly maxPayloadBytes: number;
  /** uWS's own limit: frames above it are cut without a close frame. */
  readonly hardCapBytes: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The documented answer to one text message. */
export function answerToText(text: string): Answer {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return { type: 'error', codes: ['malformed_json'], malformed: true };
  }
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) return { type: 'error', codes: ['invalid_frame'], malformed: true };
  const eventType = (frame as Record<string, unknown>)['event_type'];
  if (eventType === 'ping') return { type: 'pong-frame' };
  if (eventType === undefined) return { type: 'error', codes: ['invalid_frame'], malformed: true };
  // An event_type that is not a string: "not an object with an event_type" or an unknown one.
  if (typeof eventType !== 'string') return { type: 'error', codes: ['invalid_frame', 'unknown_event_type'], malformed: true };
  return { type: 'error', codes: ['unknown_event_type'], malformed: false };
}

/** What a complete data message of these bytes does. */
function messageEffect(opcode: number, payload: Uint8Array, ctx: FrameContext): ItemEffect {
  if (opcode === Opcode.Text) {
    let text: string | undefined;
    try {
      text = utf8.decode(payload);
    } catch {
      text = undefined;
    }
    if (text === undefined) return payload.byteLength > ctx.maxPayloadBytes ? { type: 'fail', rule: 'invalid UTF-8 or too big' } : { type: 'fail', rule: 'invalid UTF-8 in a text message' };
    if (payload.byteLength > ctx.hardCapBytes) return { type: 'cut' };
    if (payload.byteLength > ctx.maxPayloadBytes) return { type: 'too-big' };
    return { type: 'answer', answer: answerToText(text) };
  }
  if (payload.byteLength > ctx.hardCapBytes) return { type: 'cut' };
  if (payload.byteLength > ctx.maxPayloadBytes) return { type: 'too-big' };
  return { type: 'answer', answer: { type: 'error', codes: ['binary_not_supported'], malformed: true } };
}

const maskKey = fc.integer({ min: 0, max: 0xffff_ffff });

function frame(opcode: number, payload: Uint8Array, fin = true, rsv = 0, masked = true, key = 0x1234_5678, length: WireFrame['length'] = 'minimal'): WireFrame {
  return { fin, rsv, opcode, masked, maskKey: key, payload, length };
}

const PING = '{"event_type":"ping"}';

/** JSON texts: valid pings, other frames, random JSON of every type, sizes up to the limits. */
function textPayload(ctx: FrameContext): fc.Arbitrary<{ label: string; bytes: Uint8Array }> {
  const text = (label: string, arbitrary: fc.Arbitrary<string>): fc.Arbitrary<{ label: string; bytes: Uint8Array }> => arbitrary.map((t) => ({ label, bytes: Buffer.from(t) }));
  const sized = (unit: string) => fc.integer({ min: 0, max: ctx.maxPayloadBytes + 64 }).map((n) => {
    const head = '{"event_type":"ping","pad":"';
    const room = Math.max(0, n - head.length - 2);
    return `${head}${unit.repeat(Math.floor(room / Buffer.byteLength(unit)))}"}`;
  });
  const boundary = fc.constantFrom(ctx.maxPayloadBytes - 1, ctx.maxPayloadBytes, ctx.maxPayloadBytes + 1).chain((n) => fc.constantFrom('a', 'é', '€', '😀').map((unit) => {
    const head = '{"event_type":"x","pad":"';
    const room = n - head.length - 2;
    const count = Math.floor(room / Buffer.byteLength(unit));
    return `${head}${unit.repeat(count)}${'a'.repeat(room - count * Buffer.byteLength(unit))}"}`;
  }));
  return fc.oneof(
    { arbitrary: text('ping', fc.constant(PING)), weight: 6 },
    { arbitrary: text('ping-extra', fc.tuple(fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), fc.boolean()).map(([extra, first]) => (first ? JSON.stringify({ event_type: 'ping', ...extra }) : JSON.stringify({ ...extra, event_type: 'ping' })))), weight: 3 },
    { arbitrary: text('ping-spaced', fc.constantFrom(' {"event_type":"ping"}', '{ "event_type" : "ping" }\n', '\t{"event_type":"ping"}\r\n', '{"event_type":"p\\u0069ng"}', '{"event_type":"pong","event_type":"ping"}', '{"event_type":"ping","event_type":"pong"}')), weight: 2 },
    { arbitrary: text('typed', fc.record({ event_type: fc.oneof(fc.constantFrom('pong', 'subscribe', 'task.event.created', 'connection.established', 'error', 'PING', 'ping ', ''), fc.string({ maxLength: 12 })), data: fc.jsonValue({ maxDepth: 3 }) }).map((v) => JSON.stringify(v))), weight: 4 },
    { arbitrary: text('event-type-any', fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ event_type: v }))), weight: 3 },
    { arbitrary: text('json', fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v))), weight: 6 },
    { arbitrary: text('json-unicode', fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }).map((v) => JSON.stringify(v))), weight: 2 },
    { arbitrary: text('not-json', fc.string({ maxLength: 60, unit: 'grapheme' })), weight: 3 },
    { arbitrary: text('edge', fc.constantFrom('', ' ', 'null', 'true', '0', '-0', '1e400', '"ping"', '[]', '{}', '{"event_type":null}', '\uFEFF{"event_type":"ping"}', '{"event_type":"ping"}\u0000', '{"__proto__":{"event_type":"ping"}}', '{"event_type":"\\ud800"}', '[{"event_type":"ping"}]')), weight: 3 },
    { arbitrary: text('deep', fc.integer({ min: 1, max: Math.floor(ctx.maxPayloadBytes / 2) }).chain((d) => fc.constantFrom(`${'['.repeat(d)}${']'.repeat(d)}`, `${'{"a":'.repeat(Math.floor(d / 5))}1${'}'.repeat(Math.floor(d / 5))}`))), weight: 2 },
    { arbitrary: text('sized', fc.constantFrom('a', 'é', '€', '😀').chain(sized)), weight: 3 },
    { arbitrary: text('boundary', boundary), weight: 2 },
    { arbitrary: fc.tuple(fc.constantFrom(PING, '{"event_type":"x","data":{"k":[1,2,"é"]}}', '{"event_type":"ping","n":12345}'), fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 })).map(([t, m]) => ({ label: 'mutated', bytes: applyMutations(Buffer.from(t), m) })), weight: 6 },
    { arbitrary: fc.constantFrom(Uint8Array.of(0x22, 0xff, 0x22), Uint8Array.of(0x22, 0xc0, 0x80, 0x22), Uint8Array.of(0x22, 0xed, 0xa0, 0x80, 0x22), Uint8Array.of(0x22, 0xe2, 0x82), Uint8Array.of(0xf4, 0x90, 0x80, 0x80), Uint8Array.of(0xf8, 0x88, 0x80, 0x80, 0x80)).map((bytes) => ({ label: 'bad-utf8', bytes })), weight: 1 },
  );
}

function dataMessage(ctx: FrameContext): fc.Arbitrary<FrameItem> {
  return fc.record({
    payload: fc.oneof(
      { arbitrary: textPayload(ctx).map((p) => ({ ...p, opcode: Opcode.Text })), weight: 100 },
      { arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ label: 'binary', bytes, opcode: Opcode.Binary })), weight: 8 },
      { arbitrary: fc.integer({ min: ctx.maxPayloadBytes - 2, max: ctx.maxPayloadBytes + 200 }).map((n) => ({ label: 'binary-sized', bytes: new Uint8Array(n), opcode: Opcode.Binary })), weight: 1 },
    ),
    key: maskKey,
    length: fc.oneof({ arbitrary: fc.constant('minimal' as const), weight: 12 }, { arbitrary: fc.constantFrom('16' as const, '64' as const), weight: 1 }),
    fragments: fc.oneof({ arbitrary: fc.constant([] as number[]), weight: 6 }, { arbitrary: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }), weight: 1 }),
    pingInside: fc.option(fc.uint8Array({ maxLength: 20 }), { freq: 4 }),
  }).map((r) => {
    const bytes = r.payload.bytes;
    const effect = messageEffect(r.payload.opcode, bytes, ctx);
    if (r.fragments.length === 0) {
      return { label: r.payload.label, frames: [frame(r.payload.opcode, bytes, true, 0, true, r.key, r.length)], effects: [effect] };
    }
    const cuts = [...new Set(r.fragments.map((f) => Math.floor(f * bytes.byteLength)))].sort((a, b) => a - b);
    const pieces = [0, ...cuts, bytes.byteLength].slice(0, -1).map((start, i, starts) => bytes.subarray(start, starts[i + 1] ?? bytes.byteLength));
    const frames: WireFrame[] = pieces.map((piece, i) => frame(i === 0 ? r.payload.opcode : Opcode.Continuation, piece, i === pieces.length - 1, 0, true, r.key));
    const effects: ItemEffect[] = [];
    if (r.pingInside !== null && frames.length > 1) {
      frames.splice(1, 0, frame(Opcode.Ping, r.pingInside, true, 0, true, r.key));
      effects.push({ type: 'pong', payload: Buffer.from(r.pingInside) });
    }
    effects.push(effect);
    return { label: `${r.payload.label}-fragmented`, frames, effects };
  });
}

function controlFrame(): fc.Arbitrary<FrameItem> {
  return fc.oneof(
    fc.tuple(fc.uint8Array({ maxLength: 125 }), maskKey).map(([payload, key]) => ({ label: 'ping', frames: [frame(Opcode.Ping, payload, true, 0, true, key)], effects: [{ type: 'pong', payload: Buffer.from(payload) }] as ItemEffect[] })),
    fc.tuple(fc.uint8Array({ maxLength: 125 }), maskKey).map(([payload, key]) => ({ label: 'pong', frames: [frame(Opcode.Pong, payload, true, 0, true, key)], effects: [{ type: 'silent' }] as ItemEffect[] })),
  );
}

/** Frames RFC 6455 requires the server to fail the connection for. */
function violation(): fc.Arbitrary<FrameItem> {
  const ping = Buffer.from(PING);
  const fail = (label: string, frames: WireFrame[], rule: string): FrameItem => ({ label, frames, effects: [{ type: 'fail', rule }] });
  return fc.oneof(
    maskKey.map((): FrameItem => ({ label: 'unmasked', frames: [frame(Opcode.Text, ping, true, 0, false)], effects: [{ type: 'garbled' }] })),
    fc.tuple(fc.integer({ min: 1, max: 7 }), maskKey).map(([rsv, key]) => fail('rsv-bits', [frame(Opcode.Text, ping, true, rsv, true, key)], 'RSV bits without an extension')),
    fc.tuple(fc.constantFrom(3, 4, 5, 6, 7, 11, 12, 13, 14, 15), maskKey).map(([op, key]) => fail('reserved-opcode', [frame(op, ping, true, 0, true, key)], 'reserved opcode')),
    fc.tuple(fc.integer({ min: 126, max: 300 }), fc.constantFrom(Opcode.Ping, Opcode.Pong, Opcode.Close)).map(([n, op]) => fail('control-too-long', [frame(op, new Uint8Array(n), true, 0, true, 7, n < 65_536 ? '16' : '64')], 'control frame above 125 bytes')),
    fc.constantFrom(Opcode.Ping, Opcode.Pong).map((op) => fail('control-fragmented', [frame(op, Buffer.from('x'), false)], 'fragmented control frame')),
    maskKey.map((key) => fail('orphan-continuation', [frame(Opcode.Continuation, ping, true, 0, true, key)], 'continuation without a message')),
    maskKey.map((key) => fail('interleaved-message', [frame(Opcode.Text, ping.subarray(0, 5), false, 0, true, key), frame(Opcode.Text, ping, true, 0, true, key)], 'new message inside a fragmented one')),
    maskKey.map((key) => fail('length-msb', [frame(Opcode.Text, ping, true, 0, true, key, '64-msb')], 'the top bit of a 64-bit length must be 0')),
  );
}

function closeFrame(): fc.Arbitrary<FrameItem> {
  return fc.record({
    code: fc.oneof(fc.constantFrom(1000, 1001, 1003, 1007, 1008, 1011, 3000, 4000, 4999), fc.integer({ min: 0, max: 65_535 })),
    reason: fc.oneof(fc.string({ maxLength: 20 }).map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 10 })),
    shape: fc.constantFrom('code', 'code', 'empty', 'one-byte'),
    key: maskKey,
  }).map((r) => {
    const payload = r.shape === 'empty' ? Buffer.alloc(0) : r.shape === 'one-byte' ? Buffer.of(r.code & 0xff) : Buffer.concat([Buffer.of(r.code >> 8, r.code & 0xff), Buffer.from(r.reason).subarray(0, 123)]);
    return { label: 'close', frames: [frame(Opcode.Close, payload, true, 0, true, r.key)], effects: [{ type: 'closing' }] };
  });
}

/** Many small frames at once: the per-connection rate limit and its 4008 close. */
function flood(): fc.Arbitrary<FrameItem> {
  return fc.tuple(fc.integer({ min: 30, max: 700 }), maskKey).map(([n, key]) => ({
    label: 'flood',
    frames: Array.from({ length: n }, () => frame(Opcode.Text, Buffer.from(PING), true, 0, true, key)),
    effects: Array.from({ length: n }, (): ItemEffect => ({ type: 'answer', answer: { type: 'pong-frame' } })),
  }));
}

function oversize(ctx: FrameContext): fc.Arbitrary<FrameItem> {
  return fc.tuple(fc.oneof(fc.integer({ min: ctx.maxPayloadBytes + 1, max: ctx.hardCapBytes }), fc.integer({ min: ctx.hardCapBytes + 1, max: ctx.hardCapBytes * 3 })), maskKey).map(([n, key]) => {
    const payload = Buffer.alloc(n, 0x20);
    payload.write(PING);
    return { label: n > ctx.hardCapBytes ? 'huge' : 'oversize', frames: [frame(Opcode.Text, payload, true, 0, true, key)], effects: [messageEffect(Opcode.Text, payload, ctx)] };
  });
}

function abort(): fc.Arbitrary<FrameItem> {
  return fc.tuple(fc.integer({ min: 1, max: 40 }), maskKey).map(([keep, key]) => ({
    label: 'abort',
    frames: [frame(Opcode.Text, Buffer.alloc(200, 0x61), true, 0, true, key)],
    effects: [{ type: 'abort' }],
    keepBytes: keep,
  }));
}

const TERMINAL = new Set<ItemEffect['type']>(['too-big', 'cut', 'fail', 'closing', 'abort', 'garbled']);

export function endsConnection(item: FrameItem): boolean {
  return item.effects.some((e) => TERMINAL.has(e.type));
}

/** Up to a dozen items; nothing after the first one that ends the connection. */
export function frameBatchArbitrary(ctx: FrameContext): fc.Arbitrary<FrameBatch> {
  const item = fc.oneof(
    { arbitrary: dataMessage(ctx), weight: 200 },
    { arbitrary: controlFrame(), weight: 12 },
    { arbitrary: violation(), weight: 4 },
    { arbitrary: closeFrame(), weight: 2 },
    { arbitrary: oversize(ctx), weight: 2 },
    { arbitrary: flood(), weight: 1 },
    { arbitrary: abort(), weight: 1 },
  );
  return fc.record({
    items: fc.array(item, { minLength: 1, maxLength: 12 }),
    splits: fc.oneof({ arbitrary: fc.constant([] as number[]), weight: 3 }, { arbitrary: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 5 }), weight: 1 }),
  }).map(({ items, splits }) => {
    const end = items.findIndex(endsConnection);
    return { items: end < 0 ? items : items.slice(0, end + 1), splits };
  });
}

export function frameCount(batch: FrameBatch): number {
  return batch.items.reduce((n, item) => n + item.frames.length, 0);
}
