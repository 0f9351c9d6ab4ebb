/**
 * The load test's event payload and the byte scanner that reads it back from a raw frame. The
 * publisher puts `{"lt_o":<organization index>,"lt_q":<sequence within the organization>,
 * "lt_t":<send time, monotonic µs>,"pad":"…"}` into `data`; every server under test passes `data`
 * through unchanged, so the client finds the marker with one native `indexOf` and parses three
 * integers, without decoding the frame to a string or parsing JSON.
 */
const MARKER = Buffer.from('"lt_o":');
const ID_MARKER = Buffer.from('"id":"');

export interface LoadEventData {
  readonly lt_o: number;
  readonly lt_q: number;
  readonly lt_t: number;
  readonly pad?: string;
}

export function loadEventData(org: number, seq: number, sentAtUs: number, pad: string): LoadEventData {
  return pad.length > 0 ? { lt_o: org, lt_q: seq, lt_t: sentAtUs, pad } : { lt_o: org, lt_q: seq, lt_t: sentAtUs };
}

/** Microseconds of the system-wide monotonic clock: comparable between processes of one machine. */
export function monotonicMicros(): number {
  const [s, ns] = process.hrtime();
  return s * 1_000_000 + Math.floor(ns / 1_000);
}

/** Filled by scanLoadEvent; reused so that scanning allocates nothing. */
export interface ScannedEvent {
  org: number;
  seq: number;
  sentAtUs: number;
}

/** True when `buf[start, end)` holds a load event; its fields are then in `out`. */
export function scanLoadEvent(buf: Buffer, start: number, end: number, out: ScannedEvent): boolean {
  const at = buf.indexOf(MARKER, start);
  if (at < 0 || at >= end) return false;
  let pos = at + MARKER.length;
  let value = 0;
  let c = buf[pos]!;
  // lt_o
  while (c >= 0x30 && c <= 0x39) { value = value * 10 + (c - 0x30); c = buf[++pos]!; }
  out.org = value;
  pos += 8; // ,"lt_q":
  value = 0;
  c = buf[pos]!;
  while (c >= 0x30 && c <= 0x39) { value = value * 10 + (c - 0x30); c = buf[++pos]!; }
  out.seq = value;
  pos += 8; // ,"lt_t":
  value = 0;
  c = buf[pos]!;
  while (pos < end && c >= 0x30 && c <= 0x39) { value = value * 10 + (c - 0x30); c = buf[++pos]!; }
  out.sentAtUs = value;
  return true;
}

/** The envelope's `"id":"…"` (the first one: the envelope's id precedes `data`), or undefined. */
export function scanEventId(buf: Buffer, start: number, end: number): string | undefined {
  const at = buf.indexOf(ID_MARKER, start);
  if (at < 0 || at >= end) return undefined;
  const from = at + ID_MARKER.length;
  const quote = buf.indexOf(0x22, from);
  if (quote < 0 || quote >= end) return undefined;
  return buf.toString('latin1', from, quote);
}

/** Whether `buf` at `start` begins with `prefix` (and the range is long enough). */
export function startsWith(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  return buf.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0;
}
