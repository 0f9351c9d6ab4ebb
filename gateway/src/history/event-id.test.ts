import { describe, expect, it } from 'vitest';
import { compareEventIds, eventIdTimeMs, isEventId, MAX_EVENT_ID, MIN_EVENT_ID } from './event-id.js';

describe('isEventId', () => {
  it('accepts canonical <ms>-<seq> ids up to 64 bits per part', () => {
    for (const id of ['0-0', '1-0', '1732672800000-0', '1732672800000-17', MAX_EVENT_ID, '18446744073709551615-0']) {
      expect(isEventId(id), id).toBe(true);
    }
  });

  it('rejects anything else', () => {
    for (const id of ['', '0', '-', '1-', '-1', '01-0', '1-01', '1-2-3', ' 1-0', '1-0 ', '1.5-0', '-1-0', '1e3-0', '18446744073709551616-0', '0-18446744073709551616', '99999999999999999999-0', '１-0']) {
      expect(isEventId(id), id).toBe(false);
    }
    expect(isEventId(undefined)).toBe(false);
    expect(isEventId(12)).toBe(false);
  });
});

describe('compareEventIds', () => {
  it('compares the millisecond part numerically, then the sequence', () => {
    expect(compareEventIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareEventIds('10-0', '9-0')).toBeGreaterThan(0);
    expect(compareEventIds('5-9', '5-10')).toBeLessThan(0);
    expect(compareEventIds('6-0', '5-99')).toBeGreaterThan(0);
    expect(compareEventIds('1732672800000-3', '1732672800000-3')).toBe(0);
  });

  it('treats 0-0 as the minimum and stays exact beyond 2^53', () => {
    expect(compareEventIds(MIN_EVENT_ID, '0-1')).toBeLessThan(0);
    expect(compareEventIds(MIN_EVENT_ID, MIN_EVENT_ID)).toBe(0);
    expect(compareEventIds('9007199254740993-0', '9007199254740992-0')).toBeGreaterThan(0);
    expect(compareEventIds('1-18446744073709551614', '1-18446744073709551615')).toBeLessThan(0);
    expect(compareEventIds(MAX_EVENT_ID, '18446744073709551615-18446744073709551614')).toBeGreaterThan(0);
  });

  it('sorts like BigInt comparison of both parts', () => {
    const ids = ['10-1', '9-5', '0-0', '10-0', '100-0', '9-10', '1-0', '0-3'];
    const big = (id: string) => id.split('-').map(BigInt) as [bigint, bigint];
    const expected = [...ids].sort((a, b) => {
      const [am, as] = big(a);
      const [bm, bs] = big(b);
      return am !== bm ? (am < bm ? -1 : 1) : as < bs ? -1 : as > bs ? 1 : 0;
    });
    expect([...ids].sort(compareEventIds)).toEqual(expected);
    expect(expected).toEqual(['0-0', '0-3', '1-0', '9-5', '9-10', '10-0', '10-1', '100-0']);
  });

  it('throws a RangeError for a malformed id', () => {
    expect(() => compareEventIds('1-0', 'nope')).toThrow(RangeError);
    expect(() => compareEventIds('01-0', '1-0')).toThrow(RangeError);
  });
});

describe('eventIdTimeMs', () => {
  it('returns the millisecond part', () => {
    expect(eventIdTimeMs('1732672800000-7')).toBe(1_732_672_800_000);
    expect(eventIdTimeMs(MIN_EVENT_ID)).toBe(0);
  });
});
