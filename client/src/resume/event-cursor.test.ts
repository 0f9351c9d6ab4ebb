import { describe, expect, it } from 'vitest';
import { EventCursor } from './event-cursor.js';

describe('EventCursor', () => {
  it('accepts increasing ids and drops duplicates and older ids, per organization', () => {
    const cursor = new EventCursor();
    expect(cursor.accept('acme', '100-0')).toBe(true);
    expect(cursor.accept('acme', '100-1')).toBe(true);
    expect(cursor.accept('acme', '100-1')).toBe(false);
    expect(cursor.accept('acme', '99-7')).toBe(false);
    // Another organization has its own mark.
    expect(cursor.accept('globex', '50-0')).toBe(true);
    // Numeric, not lexicographic: 1000 > 999.
    expect(cursor.accept('acme', '1000-0')).toBe(true);
    expect(cursor.get('acme')).toBe('1000-0');
  });

  it('moves forward only when advanced by a poll cursor', () => {
    const cursor = new EventCursor();
    cursor.advance('acme', '10-0');
    cursor.advance('acme', '9-0');
    expect(cursor.get('acme')).toBe('10-0');
    expect(cursor.accept('acme', '10-0')).toBe(false);
    expect(cursor.accept('acme', '10-1')).toBe(true);
  });

  it('encodes the marks as the resume value', () => {
    const cursor = new EventCursor();
    expect(cursor.encode()).toBeUndefined();
    cursor.accept('acme', '1-0');
    cursor.accept('a:b', '2-0');
    expect(cursor.encode()).toBe('acme:1-0,a%3Ab:2-0');
    cursor.forget('acme');
    expect(cursor.encode()).toBe('a%3Ab:2-0');
    expect(cursor.organizations()).toEqual(['a:b']);
  });

  it('falls back to remembering recent ids when ids are not <ms>-<seq>', () => {
    const cursor = new EventCursor();
    expect(cursor.accept('acme', 'gw.a-1')).toBe(true);
    expect(cursor.accept('acme', 'gw.a-2')).toBe(true);
    expect(cursor.accept('acme', 'gw.a-1')).toBe(false);
    expect(cursor.get('acme')).toBe('gw.a-2');
    for (let i = 3; i < 1_100; i += 1) cursor.accept('acme', `gw.a-${i}`);
    // The memory is bounded: the oldest ids are forgotten.
    expect(cursor.accept('acme', 'gw.a-1')).toBe(true);
  });
});
