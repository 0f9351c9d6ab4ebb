/**
 * A log-linear (HDR-style) histogram of non-negative integers (microseconds here): exact below
 * 2^SUB_BITS, then 2^(SUB_BITS-1) linear buckets per power of two, so every recorded value is
 * known to within 1 / 2^(SUB_BITS-1) (0.8 %). Fixed size, mergeable by adding counts, and
 * serialisable as sparse [index, count] pairs for IPC between client processes.
 */
const SUB_BITS = 8;
const LINEAR = 1 << SUB_BITS; // 256 exact buckets: 0..255
const HALF = LINEAR >> 1; // 128 buckets per doubling above that
/** Values are clamped to 2^32 - 1 µs (about 71 minutes). */
const MAX_VALUE = 0xffff_ffff;
const MAX_SHIFT = 32 - SUB_BITS;
export const HISTOGRAM_BUCKETS = LINEAR + MAX_SHIFT * HALF;

/** Sparse form: [bucket index, count] pairs. */
export type SparseHistogram = Array<[number, number]>;

export interface HistogramSummary {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
}

export function bucketIndex(value: number): number {
  const v = value <= 0 ? 0 : value >= MAX_VALUE ? MAX_VALUE : Math.floor(value);
  if (v < LINEAR) return v;
  const msb = 31 - Math.clz32(v);
  const shift = msb - (SUB_BITS - 1);
  const sub = v >>> shift; // in [HALF, LINEAR)
  return LINEAR + (shift - 1) * HALF + (sub - HALF);
}

/** The smallest value that falls in `index`. */
export function bucketLowerBound(index: number): number {
  if (index < LINEAR) return index;
  const shift = Math.floor((index - LINEAR) / HALF) + 1;
  const sub = ((index - LINEAR) % HALF) + HALF;
  return sub * 2 ** shift;
}

/** The largest value that falls in `index`. */
export function bucketUpperBound(index: number): number {
  if (index < LINEAR) return index;
  return bucketLowerBound(index + 1) - 1;
}

export class Histogram {
  readonly counts = new Float64Array(HISTOGRAM_BUCKETS);
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;

  record(value: number): void {
    this.counts[bucketIndex(value)]! += 1;
    this.count += 1;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = 0;
  }

  /**
   * The value at quantile q (0..1): the upper bound of the bucket holding the ⌈q·count⌉-th value,
   * clamped to the exact max (HdrHistogram's "highest equivalent value" convention).
   */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketUpperBound(i), this.max);
    }
    return this.max;
  }

  summary(): HistogramSummary {
    return {
      count: this.count,
      min: this.count === 0 ? 0 : this.min,
      max: this.max,
      mean: this.count === 0 ? 0 : this.sum / this.count,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
    };
  }

  toSparse(): { buckets: SparseHistogram; count: number; sum: number; min: number; max: number } {
    const buckets: SparseHistogram = [];
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      const c = this.counts[i]!;
      if (c > 0) buckets.push([i, c]);
    }
    return { buckets, count: this.count, sum: this.sum, min: this.count === 0 ? 0 : this.min, max: this.max };
  }

  static fromSparse(sparse: { buckets: SparseHistogram; count: number; sum: number; min: number; max: number }): Histogram {
    const h = new Histogram();
    for (const [index, count] of sparse.buckets) {
      if (index >= 0 && index < HISTOGRAM_BUCKETS) h.counts[index]! += count;
    }
    h.count = sparse.count;
    h.sum = sparse.sum;
    h.min = sparse.count === 0 ? Number.POSITIVE_INFINITY : sparse.min;
    h.max = sparse.max;
    return h;
  }

  /** Non-empty buckets as [lower bound, upper bound, count], for plotting. */
  distribution(): Array<[number, number, number]> {
    const out: Array<[number, number, number]> = [];
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      const c = this.counts[i]!;
      if (c > 0) out.push([bucketLowerBound(i), bucketUpperBound(i), c]);
    }
    return out;
  }
}
