import { isEventId } from './event-id.js';
import type { AppendOptions, HistoryRecord } from './history-store.js';

/** Bounds shared by every HistoryStore implementation. */
export interface HistoryLimits {
  /** Entries kept per organization (exactly: the oldest are dropped on append). */
  readonly maxLength: number;
  /**
   * Age after which an entry is dropped (on the next append or read), by the time in its id. An
   * organization without appends for twice this long is forgotten entirely (see `readAfter` for
   * what a resume then sees).
   */
  readonly maxAgeMs: number;
  /** How long an append's dedupe key is remembered. */
  readonly dedupeTtlSeconds: number;
}

/** Throws a RangeError naming the first bad limit, before any I/O. */
export function assertHistoryLimits(limits: HistoryLimits): void {
  positiveInteger('maxLength', limits.maxLength);
  positiveInteger('maxAgeMs', limits.maxAgeMs);
  positiveInteger('dedupeTtlSeconds', limits.dedupeTtlSeconds);
}

export function assertOrganizationId(organizationId: string): void {
  if (typeof organizationId !== 'string' || organizationId.length === 0) throw new RangeError('history organization id must be a non-empty string');
}

export function assertDedupeKey(dedupeKey: string): void {
  if (typeof dedupeKey !== 'string' || dedupeKey.length === 0) throw new RangeError('history dedupe key must be a non-empty string');
}

export function assertAppendOptions(options: AppendOptions): void {
  if (options.dedupe !== undefined && options.dedupe !== 'check' && options.dedupe !== 'record') throw new RangeError(`history append dedupe must be check or record (got ${String(options.dedupe)})`);
  for (const name of ['token', 'afterToken'] as const) {
    const value = options[name];
    if (value !== undefined && !/^[A-Za-z0-9._:-]{1,64}$/.test(value)) throw new RangeError(`history append ${name} must be 1 to 64 characters of [A-Za-z0-9._:-]`);
  }
  if (options.run !== undefined && !(Number.isSafeInteger(options.run) && options.run > 0)) throw new RangeError(`history append run must be a positive integer (got ${String(options.run)})`);
}

/** The cut of age trimming: entries with an id time below this are dropped. */
export function ageCutoffMs(nowMs: number, maxAgeMs: number): number {
  return Math.max(0, Math.floor(nowMs - maxAgeMs));
}

/**
 * What age trimming records as the highest dropped id: everything below the cut may have been
 * dropped (the Redis store cannot tell which entries were there without reading them).
 */
export function droppedBeforeCutoffId(cutoffMs: number): string {
  return `${cutoffMs - 1}-18446744073709551615`;
}

export function assertRecord(record: HistoryRecord): void {
  if (typeof record.eventType !== 'string' || typeof record.dataJson !== 'string') throw new RangeError('history record eventType and dataJson must be strings');
  // A Date holds ±8.64e15 ms: beyond it no frame could be built for the entry.
  if (!(Number.isFinite(record.timestampMs) && record.timestampMs >= 0 && record.timestampMs <= 8.64e15)) throw new RangeError(`history record timestampMs must be between 0 and 8.64e15 ms (got ${record.timestampMs})`);
}

export function assertReadArguments(afterId: string, limit: number): void {
  if (!isEventId(afterId)) throw new RangeError(`history afterId must be an event id <ms>-<seq> (got ${JSON.stringify(afterId)})`);
  if (!(Number.isInteger(limit) && limit >= 0)) throw new RangeError(`history read limit must be an integer >= 0 (got ${limit})`);
}

function positiveInteger(name: string, value: number): void {
  if (!(Number.isSafeInteger(value) && value >= 1)) throw new RangeError(`history ${name} must be a positive integer (got ${value})`);
}
