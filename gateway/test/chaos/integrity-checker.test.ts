import { describe, expect, it } from 'vitest';
import { ClientLog } from './client-log.js';
import { checkOrganization, type HistoryIndex } from './integrity-checker.js';

const ORG = 'acme';
const T0 = 1_700_000_000_000;
const id = (n: number): string => `${T0 + n * 1000}-0`;

function historyOf(count: number): HistoryIndex {
  const ids = Array.from({ length: count }, (_, n) => id(n + 1));
  return { ids, keyById: new Map(ids.map((i) => [i, `k${i}`])) };
}

/** A client log driven by a fake clock (ms since T0). */
function logWith(steps: ReadonlyArray<readonly ['join', number] | readonly ['event', number] | readonly ['flag', number] | readonly ['at', number]>): ClientLog {
  let now = T0;
  const log = new ClientLog('c1', 'ws-stay', [ORG], () => now);
  for (const [what, n] of steps) {
    if (what === 'at') now = T0 + n * 1000;
    else if (what === 'join') log.join(ORG, n === 0 ? '0-0' : id(n));
    else if (what === 'event') log.event(ORG, id(n), { k: `k${id(n)}` });
    else log.flag(ORG, 'history_truncated');
  }
  return log;
}

const check = (log: ClientLog, history: HistoryIndex) => checkOrganization(log, ORG, log.receptions(ORG), history, { slackMs: 1000 });

describe('checkOrganization', () => {
  it('passes a client that received everything after its join, once, in order', () => {
    const verdict = check(logWith([['join', 2], ['event', 3], ['event', 4], ['event', 5]]), historyOf(5));
    expect(verdict).toMatchObject({ checked: 3, missing: [], duplicated: [], outOfOrder: [], stray: [], mismatched: [], flags: 0 });
  });

  it('counts missing, duplicated and reordered events', () => {
    const verdict = check(logWith([['join', 0], ['event', 1], ['event', 3], ['event', 2], ['event', 3], ['event', 5]]), historyOf(5));
    expect(verdict.missing).toEqual([id(4)]);
    expect(verdict.duplicated).toEqual([id(3)]);
    expect(verdict.outOfOrder).toEqual([id(2)]);
  });

  it('excuses the events between a flag and the next event, sequenced before the flag arrived', () => {
    const verdict = check(logWith([['join', 0], ['event', 1], ['at', 6], ['flag', 0], ['event', 5], ['event', 6]]), historyOf(6));
    expect(verdict.missing).toEqual([]);
    expect(verdict.excused).toBe(3);
    expect(verdict.flags).toBe(1);
  });

  it('does not excuse events sequenced after the flag arrived', () => {
    // Flag at t=2 s, 1 s of slack: events 2 and 3 are excused, 4 (t=4 s) had to arrive.
    const verdict = check(logWith([['join', 0], ['event', 1], ['at', 2], ['flag', 0], ['at', 9], ['event', 5]]), historyOf(5));
    expect(verdict.excused).toBe(2);
    expect(verdict.missing).toEqual([id(4)]);
  });

  it('flags events not in history or from before the join as stray, and wrong keys as mismatched', () => {
    const log = logWith([['join', 2], ['event', 1], ['event', 3], ['event', 9]]);
    log.event(ORG, id(4), { k: 'another' });
    const verdict = check(log, historyOf(4));
    expect(verdict.stray).toEqual([id(1), id(9)]);
    expect(verdict.mismatched).toEqual([id(4)]);
  });

  it('reports a client that never joined', () => {
    const verdict = check(logWith([]), historyOf(3));
    expect(verdict.joinedAt).toBeUndefined();
    expect(verdict.checked).toBe(0);
  });
});
