import { describe, expect, it } from 'vitest';
import { auditHistory, type HistoryEntry } from './history-audit.js';
import { PublishLedger, type PublishFate } from './publish-ledger.js';

const ORG = 'acme';

/** A ledger of one body published `fates.length` times (first, then repeats or retries). */
function ledgerOf(bodies: ReadonlyArray<{ key: string; messageId?: string; oversized?: boolean; fates: readonly PublishFate[] }>): PublishLedger {
  const ledger = new PublishLedger();
  for (const body of bodies) {
    const group = ledger.open({ key: body.key, organization: ORG, bytes: 100, oversized: body.oversized ?? false, messageId: body.messageId, sentinel: false, firstAtMs: 0 });
    body.fates.forEach((fate, i) => ledger.attempt(group, i === 0 ? 'first' : body.messageId === undefined ? 'identical-repeat' : 'retry')(fate));
  }
  return ledger;
}

function historyOf(keys: readonly string[]): Map<string, HistoryEntry[]> {
  let prev = '0-0';
  const entries = keys.map((key, n) => {
    const entry: HistoryEntry = { id: `${n + 1}-0`, eventType: 'task.event.created', prev, key };
    prev = entry.id;
    return entry;
  });
  return new Map([[ORG, entries]]);
}

describe('auditHistory', () => {
  it('accepts one entry per confirmed publish: a message id once however often retried, identical bodies once each', () => {
    const ledger = ledgerOf([{ key: 'a', messageId: 'm-a', fates: ['unknown', 'confirmed'] }, { key: 'b', fates: ['confirmed', 'confirmed'] }]);
    const audit = auditHistory(historyOf(['a', 'b', 'b']), ledger.groups);
    expect(audit).toMatchObject({ entries: 3, lost: [], duplicated: [], oversizedStored: [], unexpected: [], chainBreaks: [] });
  });

  it('finds lost, duplicated, oversized and unexpected entries and a broken prev chain', () => {
    const ledger = ledgerOf([
      { key: 'lost', fates: ['confirmed'] },
      { key: 'twice', fates: ['confirmed', 'confirmed'] },
      { key: 'big', oversized: true, fates: ['confirmed'] },
    ]);
    const history = historyOf(['twice', 'twice', 'twice', 'big', 'stranger']);
    history.get(ORG)![2] = { ...history.get(ORG)![2]!, prev: '1-0' };
    const audit = auditHistory(history, ledger.groups);
    expect(audit.lost.map((m) => m.key)).toEqual(['lost']);
    expect(audit.duplicated.map((m) => [m.key, m.inHistory])).toEqual([['twice', 3]]);
    expect(audit.oversizedStored.map((m) => m.key)).toEqual(['big']);
    expect(audit.unexpected).toHaveLength(1);
    expect(audit.chainBreaks).toHaveLength(1);
  });

  it('allows a publish of unknown fate to be stored or not', () => {
    const ledger = ledgerOf([{ key: 'x', fates: ['confirmed', 'unknown'] }]);
    expect(auditHistory(historyOf(['x']), ledger.groups).lost).toEqual([]);
    expect(auditHistory(historyOf(['x', 'x']), ledger.groups).duplicated).toEqual([]);
    expect(auditHistory(historyOf(['x', 'x', 'x']), ledger.groups).duplicated).toHaveLength(1);
  });

  it('excuses missing identical copies without message id only as far as pods logged taking a redelivery for a stored copy', () => {
    const ledger = ledgerOf([{ key: 'same', fates: ['confirmed', 'confirmed', 'confirmed'] }, { key: 'id', messageId: 'm-id', fates: ['confirmed'] }]);
    const history = historyOf(['same']);
    // No log of a match: a loss.
    expect(auditHistory(history, ledger.groups).lost.map((m) => m.key)).toEqual(['same', 'id']);
    // One match for the stored copy: one of the two missing copies is accounted for, not both.
    expect(auditHistory(history, ledger.groups, new Map([[`${ORG} 1-0`, 1]])).lost.map((m) => m.key)).toEqual(['same', 'id']);
    const audit = auditHistory(history, ledger.groups, new Map([[`${ORG} 1-0`, 2], [`${ORG} 2-0`, 5]]));
    expect(audit.merged.map((m) => m.key)).toEqual(['same']);
    expect(audit.lost.map((m) => m.key)).toEqual(['id']);
    // A match logged for an entry of another organization accounts for nothing here.
    expect(auditHistory(history, ledger.groups, new Map([['other 1-0', 2]])).merged).toEqual([]);
  });
});
