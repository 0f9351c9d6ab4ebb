/**
 * The per-organization event history: the source of event ids and of resumption.
 *
 * Guarantees:
 * - ids are opaque strings of the form `<ms>-<seq>` (Redis stream ids), strictly increasing within an
 *   organization; compare them with `compareEventIds`;
 * - every entry knows the id of the entry appended before it in the organization (`prev`, `0-0`
 *   for the first): the history is a chain, and a reader that holds an id can tell whether a frame
 *   follows it directly;
 * - `append` is idempotent per `dedupeKey` for at least `dedupeTtlSeconds`: a second append with the
 *   same key returns the first entry's id and prev with `duplicate: true` and stores nothing (with
 *   `dedupe: 'record'`, for a message seen for the first time, it appends anyway, unless the key was
 *   recorded by an append with the same `token`, i.e. this very attempt landed before; and it
 *   remembers the key for the message's redeliveries);
 * - `append` with `afterToken` is conditional: unless the organization's last append carried that
 *   `token`, it rejects with `HistoryOrderError` and stores nothing (a known `dedupeKey` still
 *   answers `duplicate` first). A pipelined writer uses it so that an entry is never appended ahead
 *   of the one before it whose fate is unknown;
 * - the history is bounded: at most `maxLength` entries (exactly), and entries older than
 *   `maxAgeMs` (by the time in their id) are dropped on the next append or read;
 * - `readAfter` tells whether the history still reaches back to the given id (`complete`), i.e. no
 *   entry newer than it was dropped. Dropping by age marks everything before the cut as dropped.
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
  /** The id of the organization's entry before this one (`0-0` for its first); undefined for entries written before it was kept. */
  readonly prev: string | undefined;
}

export interface AppendOptions {
  /**
   * `check` (the default): a known `dedupeKey` answers `duplicate`. `record`: append even when the
   * key is known (a first delivery, which cannot be a duplicate), unless it was recorded with this
   * same `token` (a retry of an append that landed); remember it for redeliveries.
   */
  readonly dedupe?: 'check' | 'record';
  /** Identifies this append for the next one's `afterToken` (unique per append attempt chain). */
  readonly token?: string;
  /** Append only if the organization's last append carried this token. */
  readonly afterToken?: string;
  /**
   * The sequencer run this append belongs to (`nextRun`): refused with StaleRunError when the
   * organization already has an append of a later run, so a stale sequencer's append that reaches
   * the store after a failover never adds a second entry for a message the new run appended.
   */
  readonly run?: number;
}

export interface AppendResult {
  readonly id: string;
  /** Undefined only for a duplicate recorded before prev was kept. */
  readonly prev: string | undefined;
  readonly duplicate: boolean;
  /**
   * For a duplicate: the record stored under its id (its frame must be built from it, not from the
   * attempt's own data or clock); absent when that entry is no longer in history.
   */
  readonly stored?: HistoryRecord;
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
  append(organizationId: string, dedupeKey: string, record: HistoryRecord, options?: AppendOptions): Promise<AppendResult>;
  /** Entries after `afterId` (exclusive). */
  readAfter(organizationId: string, afterId: string, limit: number): Promise<ReadResult>;
  /** The newest id of the organization, or `0-0` when it has no history. */
  lastId(organizationId: string): Promise<string>;
  /** Numbers a new sequencer run, above every earlier one (AppendOptions.run). */
  nextRun(): Promise<number>;
  close(): Promise<void>;
}
