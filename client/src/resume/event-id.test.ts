import { describe, expect, it } from 'vitest';
import { compareEventIds, parseEventId } from './event-id.js';

describe('event ids', () => {
  it('parses <ms>-<seq>', () => {
    expect(parseEventId('1732672800000-3')).toEqual({ ms: '1732672800000', seq: '3' });
    expect(parseEventId('007-000')).toEqual({ ms: '7', seq: '0' });
    for (const bad of ['', '1', '1-', '-1', '1-2-3', 'a-1', '1-b', ' 1-2', 'gw-1.lx2k3-1f']) expect(parseEventId(bad)).toBeUndefined();
  });

  it('compares numerically, not as strings', () => {
    expect(compareEventIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareEventIds('10-0', '9-0')).toBeGreaterThan(0);
    expect(compareEventIds('5-9', '5-10')).toBeLessThan(0);
    expect(compareEventIds('5-10', '5-10')).toBe(0);
    expect(compareEventIds('05-010', '5-10')).toBe(0);
    expect(compareEventIds('1732672800000-1', '1732672799999-99')).toBeGreaterThan(0);
  });

  it('compares sequences beyond 2^53 exactly', () => {
    expect(compareEventIds('1-9007199254740993', '1-9007199254740992')).toBeGreaterThan(0);
    expect(compareEventIds('1-18446744073709551615', '1-18446744073709551614')).toBeGreaterThan(0);
  });

  it('does not compare ids of another shape', () => {
    expect(compareEventIds('gw-1.lx2k3-1f', '1-1')).toBeUndefined();
    expect(compareEventIds('1-1', 'x')).toBeUndefined();
  });
});
