import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

const policy = { minMs: 100, maxMs: 5_000 };

describe('backoffDelay', () => {
  it('doubles from the minimum and stops at the maximum', () => {
    const top = (attempt: number) => backoffDelay(attempt, policy, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7, 100].map(top)).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
  });

  it('jitters within the upper half of each step', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(200);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(300);
    for (let i = 0; i < 100; i += 1) {
      const delay = backoffDelay(10, policy);
      expect(delay).toBeGreaterThanOrEqual(2_500);
      expect(delay).toBeLessThanOrEqual(5_000);
    }
  });

  it('treats attempt 0 or negative as the first attempt', () => {
    expect(backoffDelay(0, policy, () => 1)).toBe(100);
    expect(backoffDelay(-3, policy, () => 1)).toBe(100);
  });
});
