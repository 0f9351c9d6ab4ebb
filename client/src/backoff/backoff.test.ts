import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

const policy = { baseDelayMs: 500, maxDelayMs: 30_000 };

describe('backoffDelay', () => {
  it('doubles the ceiling per failure up to the maximum', () => {
    const top = (): number => 0.999_999;
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((f) => backoffDelay(policy, f, top))).toEqual([499, 999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999]);
  });

  it('is fully jittered: anywhere from 0 to the ceiling', () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(2_000);
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const delays = Array.from({ length: 2_000 }, () => backoffDelay(policy, 4, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(8_000);
    // Spread over the whole range, not clustered at the ceiling.
    expect(delays.filter((d) => d < 2_000).length).toBeGreaterThan(300);
    expect(delays.filter((d) => d >= 6_000).length).toBeGreaterThan(300);
  });

  it('stays finite for huge or negative failure counts', () => {
    expect(backoffDelay(policy, 10_000, () => 0.999_999)).toBe(29_999);
    expect(backoffDelay(policy, -3, () => 0.999_999)).toBe(499);
  });
});
