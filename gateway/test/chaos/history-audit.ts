import type { Redis } from 'ioredis';
import { historyStreamKey } from '../../src/history/history-keys.js';
import { keyOf } from './client-log.js';
import type { HistoryIndex } from './integrity-checker.js';
import type { LedgerGroup } from './publish-ledger.js';

/** One stream entry as the gateway writes it: fields e (event type), d (data JSON), t (publish ms), p (prev). */
export interface HistoryEntry {
  readonly id: string;
  readonly eventType: string | undefined;
  readonly prev: string | undefined;
  readonly key: string | undefined;
}

/** Reads an organization's whole history (XRANGE, in pages), oldest first. */
export async function readHistory(redis: Redis, keyPrefix: string, organization: string, maxEntries = 1_000_000): Promise<HistoryEntry[]> {
  const key = historyStreamKey(keyPrefix, organization);
  const entries: HistoryEntry[] = [];
  let start = '-';
  while (entries.length < maxEntries) {
    const page = (await redis.xrange(key, start, '+', 'COUNT', 1_000)) as Array<[string, string[]]>;
    for (const [id, fields] of page) entries.push(decode(id, fields));
    if (page.length < 1_000) break;
    start = `(${page[page.length - 1]![0]}`;
  }
  return entries;
}

function decode(id: string, fields: readonly string[]): HistoryEntry {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  let key: string | undefined;
  try {
    key = keyOf(JSON.parse(map.get('d') ?? 'null'));
  } catch {
    key = undefined;
  }
  return { id, eventType: map.get('e'), prev: map.get('p'), key };
}

export function indexOf(entries: readonly HistoryEntry[]): HistoryIndex {
  return { ids: entries.map((e) => e.id), keyById: new Map(entries.map((e) => [e.id, e.key])) };
}

/** A publish whose copies in history are not what the broker's answers allow. */
export interface LedgerMismatch {
  readonly key: string;
  readonly organization: string;
  readonly messageId: string | undefined;
  readonly inHistory: number;
  /** How many copies history must hold: [min, max]. */
  readonly expected: readonly [number, number];
  readonly confirmed: number;
  readonly attempts: number;
  readonly ids: readonly string[];
}

export interface HistoryAudit {
  readonly entries: number;
  /** Confirmed publishes missing from history. */
  readonly lost: readonly LedgerMismatch[];
  /**
   * Identical copies without message id stored fewer times than confirmed, each missing copy
   * accounted for by a pod's log that it took a redelivery for one of the stored copies (the
   * documented ambiguity: a redelivery cannot be told from its byte-identical twin's).
   */
  readonly merged: readonly LedgerMismatch[];
  /** More copies in history than publishes allow. */
  readonly duplicated: readonly LedgerMismatch[];
  /** Oversized bodies that made it into history. */
  readonly oversizedStored: readonly LedgerMismatch[];
  /** Entries whose key no publish of this run had (or of another organization). */
  readonly unexpected: readonly string[];
  /** Entries whose `p` is not the id before them. */
  readonly chainBreaks: readonly string[];
  /** Publishes of unknown fate (no confirm): how many made it. */
  readonly uncertain: { readonly publishes: number; readonly stored: number };
}

/**
 * History against the ledger: each body must be in its organization's history as many times as the
 * broker confirmed it (a body with a message id: once; identical bodies without one: once per
 * confirmed publish, plus at most one per publish of unknown fate), never when oversized; entries
 * chain by `p`; nothing else is there. `contentMatches` (`<organization> <entry id>` → times a pod
 * took a redelivery without message id for that entry) excuses as many missing identical copies of
 * the entry's body, and no more: they are reported as merged.
 */
export function auditHistory(histories: ReadonlyMap<string, readonly HistoryEntry[]>, ledger: ReadonlyMap<string, LedgerGroup>, contentMatches: ReadonlyMap<string, number> = new Map()): HistoryAudit {
  const idsByKey = new Map<string, string[]>();
  const unexpected: string[] = [];
  const chainBreaks: string[] = [];
  let entries = 0;
  for (const [organization, list] of histories) {
    let previous = '0-0';
    for (const entry of list) {
      entries += 1;
      if (entry.prev !== previous) chainBreaks.push(`${organization} ${entry.id} (p=${entry.prev ?? 'none'}, before it ${previous})`);
      previous = entry.id;
      const group = entry.key === undefined ? undefined : ledger.get(entry.key);
      if (group === undefined || group.organization !== organization) {
        unexpected.push(`${organization} ${entry.id} (key ${entry.key ?? 'none'})`);
        continue;
      }
      const ids = idsByKey.get(group.key) ?? [];
      ids.push(entry.id);
      idsByKey.set(group.key, ids);
    }
  }
  const lost: LedgerMismatch[] = [];
  const merged: LedgerMismatch[] = [];
  const duplicated: LedgerMismatch[] = [];
  const oversizedStored: LedgerMismatch[] = [];
  let uncertainPublishes = 0;
  let uncertainStored = 0;
  for (const group of ledger.values()) {
    const ids = idsByKey.get(group.key) ?? [];
    const unsure = group.attempts - group.confirmed;
    const expected: [number, number] = group.oversized ? [0, 0]
      : group.messageId !== undefined ? [group.confirmed > 0 ? 1 : 0, 1]
        : [group.confirmed, group.attempts];
    const mismatch: LedgerMismatch = { key: group.key, organization: group.organization, messageId: group.messageId, inHistory: ids.length, expected, confirmed: group.confirmed, attempts: group.attempts, ids };
    const matched = group.messageId === undefined ? ids.reduce((sum, id) => sum + (contentMatches.get(`${group.organization} ${id}`) ?? 0), 0) : 0;
    if (group.oversized && ids.length > 0) oversizedStored.push(mismatch);
    else if (ids.length < expected[0] && expected[0] - ids.length <= matched) merged.push(mismatch);
    else if (ids.length < expected[0]) lost.push(mismatch);
    else if (ids.length > expected[1]) duplicated.push(mismatch);
    if (!group.oversized && unsure > 0 && (group.messageId === undefined || group.confirmed === 0)) {
      uncertainPublishes += group.messageId === undefined ? unsure : 1;
      uncertainStored += Math.max(0, ids.length - (group.messageId === undefined ? group.confirmed : 0));
    }
  }
  return { entries, lost, merged, duplicated, oversizedStored, unexpected, chainBreaks, uncertain: { publishes: uncertainPublishes, stored: uncertainStored } };
}
