import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.js';

const policy = { minMs: 100, maxMs: 3_000 };

describe('backoffDelayMs', () => {
  it('starts between min and twice min', () => {
    expect(backoffDelayMs(0, policy, () => 0)).toBe(100);
    expect(backoffDelayMs(0, policy, () => 1)).toBe(200);
  });

  it('doubles the range with each attempt', () => {
    expect(backoffDelayMs(1, policy, () => 0)).toBe(200);
    expect(backoffDelayMs(1, policy, () => 1)).toBe(400);
    expect(backoffDelayMs(3, policy, () => 1)).toBe(1_600);
  });

  it('never exceeds max, and keeps jitter below it', () => {
    expect(backoffDelayMs(10, policy, () => 1)).toBe(3_000);
    expect(backoffDelayMs(10, policy, () => 0)).toBe(1_500);
    expect(backoffDelayMs(10_000, policy, () => 0.5)).toBe(2_250);
  });

  it('stays within [min, max] for any draw, even when max is below twice min', () => {
    const tight = { minMs: 250, maxMs: 300 };
    for (let attempt = 0; attempt < 70; attempt += 1) {
      for (const draw of [0, 0.3, 0.999]) {
        for (const p of [policy, tight]) {
          const delay = backoffDelayMs(attempt, p, () => draw);
          expect(delay).toBeGreaterThanOrEqual(p.minMs);
          expect(delay).toBeLessThanOrEqual(p.maxMs);
        }
      }
    }
  });
});
