/**
 * The per-organization event history: the source of event ids and of resumption.
 *
 * Guarantees:
 * - ids are opaque strings of the form `<ms>-<seq>` (Redis stream ids), strictly increasing within an
 *   organization; compare them with `compareEventIds`;
 * - `append` is idempotent per `dedupeKey` for at least `dedupeTtlSeconds`: a second append with the
 *   same key returns the first entry's id with `duplicate: true` and stores nothing;
 * - `append(…, after)` is conditional: when the organization's history holds no entry appended with
 *   the dedupe key `after`, it rejects with `HistoryOrderError` and stores nothing (a known
 *   `dedupeKey` still answers `duplicate` first). A pipelined writer uses it so that an entry is
 *   never appended ahead of the one before it whose append failed;
 * - the history is bounded: at most `maxLength` entries (approximately) and entries older than
 *   `maxAgeMs` may be dropped;
 * - `readAfter` tells whether the history still reaches back to the given id (`complete`), i.e. no
 *   entry newer than it was dropped.
 */
export interface HistoryRecord {
  readonly eventType: string;
  /** The publisher's `data`, already serialised as JSON text. */
  readonly dataJson: string;
  /** Publish time, ms since the epoch. */
  readonly timestampMs: number;
}

export interface HistoryEntry extends HistoryRecord {
  readonly id: string;
}

export interface AppendResult {
  readonly id: string;
  readonly duplicate: boolean;
}

export interface ReadResult {
  /** Entries with id > afterId, oldest first, at most `limit`. */
  readonly entries: readonly HistoryEntry[];
  /** False when entries newer than afterId were already dropped (the client must refetch). */
  readonly complete: boolean;
  /** True when more entries than `limit` exist after afterId. */
  readonly more: boolean;
}

export interface HistoryStore {
  append(organizationId: string, dedupeKey: string, record: HistoryRecord, after?: string): Promise<AppendResult>;
  /** Entries after `afterId` (exclusive). */
  readAfter(organizationId: string, afterId: string, limit: number): Promise<ReadResult>;
  /** The newest id of the organization, or `0-0` when it has no history. */
  lastId(organizationId: string): Promise<string>;
  /** Drops entries older than the configured age (run periodically by the ring owner of the organization). */
  trimByAge(organizationId: string): Promise<void>;
  close(): Promise<void>;
}
