/**
 * Event ids are `<ms>-<seq>` (decimal, Redis stream ids), strictly increasing within an organization.
 * They are compared numerically, part by part, without converting to Number (a sequence can exceed
 * 2^53).
 */
const EVENT_ID = /^(\d+)-(\d+)$/;

export interface EventIdParts {
  readonly ms: string;
  readonly seq: string;
}

/** The two decimal parts without leading zeros, or undefined when `id` is not `<ms>-<seq>`. */
export function parseEventId(id: string): EventIdParts | undefined {
  const match = EVENT_ID.exec(id);
  if (match === null) return undefined;
  return { ms: stripZeros(match[1]!), seq: stripZeros(match[2]!) };
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b`; undefined if either is not `<ms>-<seq>`. */
export function compareEventIds(a: string, b: string): number | undefined {
  const left = parseEventId(a);
  const right = parseEventId(b);
  if (left === undefined || right === undefined) return undefined;
  return compareDecimal(left.ms, right.ms) || compareDecimal(left.seq, right.seq);
}

function stripZeros(digits: string): string {
  const stripped = digits.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}

function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
