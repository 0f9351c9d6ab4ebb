import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

describe('TokenBucket', () => {
  it('allows a burst, then refuses until tokens refill at the rate', () => {
    const c = clock();
    const bucket = new TokenBucket(10, 3, c.now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    c.advance(99);
    expect(bucket.tryTake()).toBe(false);
    c.advance(1);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
  });

  it('never holds more than the burst, however long it idles', () => {
    const c = clock();
    const bucket = new TokenBucket(100, 2, c.now);
    c.advance(3_600_000);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, false]);
  });

  it('takes several tokens at once, or none', () => {
    const c = clock();
    const bucket = new TokenBucket(1, 5, c.now);
    expect(bucket.tryTake(4)).toBe(true);
    expect(bucket.tryTake(2)).toBe(false);
    expect(bucket.tryTake(1)).toBe(true);
    expect(bucket.tryTake(6)).toBe(false);
  });

  it('ignores a clock that goes backwards', () => {
    const c = clock();
    const bucket = new TokenBucket(1, 1, c.now);
    expect(bucket.tryTake()).toBe(true);
    c.advance(-10_000);
    expect(bucket.tryTake()).toBe(false);
    c.advance(10_500);
    expect(bucket.tryTake()).toBe(false);
    c.advance(500);
    expect(bucket.tryTake()).toBe(true);
  });

  it('reports when it is full again', () => {
    const c = clock();
    const bucket = new TokenBucket(2, 2, c.now);
    expect(bucket.isFull()).toBe(true);
    bucket.tryTake();
    expect(bucket.isFull()).toBe(false);
    c.advance(500);
    expect(bucket.isFull()).toBe(true);
  });

  it('rejects nonsensical settings', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError);
    expect(() => new TokenBucket(Number.NaN, 1)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0.5)).toThrow(RangeError);
    expect(() => new TokenBucket(1, Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
