/** The id before every event: "nothing seen yet". */
export const MIN_EVENT_ID = '0-0';

/** The largest id Redis accepts (both parts are unsigned 64-bit integers). */
export const MAX_EVENT_ID = '18446744073709551615-18446744073709551615';

const U64_MAX = '18446744073709551615';
const ID_PATTERN = /^(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,19})$/;

/**
 * True for a canonical event id `<ms>-<seq>`: two unsigned 64-bit decimal integers without leading
 * zeros (exactly what Redis streams generate, so an id read back compares equal as a string).
 */
export function isEventId(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = ID_PATTERN.exec(value);
  return match !== null && fitsU64(match[1] ?? '') && fitsU64(match[2] ?? '');
}

/**
 * Orders two event ids numerically, part by part (`9-0` < `10-0`, `1-9` < `1-10`): negative, zero or
 * positive like a sort comparator. Exact for any 64-bit part (no Number rounding). Throws a
 * RangeError for a string that is not a canonical event id.
 */
export function compareEventIds(a: string, b: string): number {
  const [aMs, aSeq] = parts(a);
  const [bMs, bSeq] = parts(b);
  return compareDigits(aMs, bMs) || compareDigits(aSeq, bSeq);
}

/** The millisecond part of an id, as a Number (exact up to year 287396). */
export function eventIdTimeMs(id: string): number {
  return Number(parts(id)[0]);
}

function parts(id: string): [string, string] {
  if (!isEventId(id)) throw new RangeError(`not an event id: ${JSON.stringify(id)}`);
  const dash = id.indexOf('-');
  return [id.slice(0, dash), id.slice(dash + 1)];
}

/** Canonical decimals (no leading zeros): the longer is larger, equal lengths compare as text. */
function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function fitsU64(digits: string): boolean {
  return digits.length < U64_MAX.length || (digits.length === U64_MAX.length && digits <= U64_MAX);
}
