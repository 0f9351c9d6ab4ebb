import { describe, expect, it } from 'vitest';
import { HISTOGRAM_BUCKETS, Histogram, bucketIndex, bucketLowerBound, bucketUpperBound } from './histogram.js';

describe('Histogram', () => {
  it('is exact below 256 and within 0.8 % above', () => {
    for (const v of [0, 1, 7, 255]) expect(bucketLowerBound(bucketIndex(v))).toBe(v);
    for (const v of [256, 257, 1_000, 12_345, 999_999, 2 ** 31 + 5, 0xffff_fffe]) {
      const i = bucketIndex(v);
      expect(bucketLowerBound(i)).toBeLessThanOrEqual(v);
      expect(bucketUpperBound(i)).toBeGreaterThanOrEqual(v);
      expect((bucketUpperBound(i) - bucketLowerBound(i)) / v).toBeLessThan(0.008);
    }
    expect(bucketIndex(2 ** 40)).toBe(HISTOGRAM_BUCKETS - 1);
    expect(bucketIndex(-5)).toBe(0);
  });

  it('bucket bounds tile the value range without gaps', () => {
    for (let i = 0; i < HISTOGRAM_BUCKETS - 1; i++) {
      expect(bucketLowerBound(i + 1)).toBe(bucketUpperBound(i) + 1);
      expect(bucketIndex(bucketLowerBound(i))).toBe(i);
      expect(bucketIndex(bucketUpperBound(i))).toBe(i);
    }
  });

  it('reports percentiles of a uniform distribution', () => {
    const h = new Histogram();
    for (let v = 1; v <= 100_000; v++) h.record(v);
    const s = h.summary();
    expect(s.count).toBe(100_000);
    expect(s.min).toBe(1);
    expect(s.max).toBe(100_000);
    expect(s.p50 / 50_000).toBeCloseTo(1, 1);
    expect(s.p99 / 99_000).toBeCloseTo(1, 1);
    expect(s.p999 / 99_900).toBeCloseTo(1, 1);
    expect(s.mean).toBeCloseTo(50_000.5, 3);
  });

  it('merges through the sparse form the same as recording into one', () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 0; i < 5_000; i++) {
      const v = (i * 7919) % 20_000;
      (i % 2 === 0 ? a : b).record(v);
      all.record(v);
    }
    const merged = Histogram.fromSparse(a.toSparse());
    merged.merge(Histogram.fromSparse(b.toSparse()));
    expect(merged.summary()).toEqual(all.summary());
    expect(merged.distribution()).toEqual(all.distribution());
  });

  it('summarises an empty histogram as zeros', () => {
    expect(new Histogram().summary()).toEqual({ count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0 });
    expect(Histogram.fromSparse(new Histogram().toSparse()).summary().count).toBe(0);
  });
});
