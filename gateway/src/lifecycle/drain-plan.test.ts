import { describe, expect, it } from 'vitest';
import { planDrain } from './drain-plan.js';

describe('planDrain', () => {
  it('closes every connection exactly once, inside the window', () => {
    for (const [connections, windowMs] of [[1, 1000], [7, 1000], [10_000, 10_000], [55, 250]] as const) {
      const plan = planDrain(connections, windowMs);
      expect(plan.reduce((sum, b) => sum + b.count, 0)).toBe(connections);
      for (const batch of plan) {
        expect(batch.atMs).toBeGreaterThanOrEqual(0);
        expect(batch.atMs).toBeLessThan(windowMs);
        expect(batch.count).toBeGreaterThan(0);
      }
    }
  });

  it('spreads a large drain over the whole window instead of one burst', () => {
    const plan = planDrain(10_000, 10_000, 100, () => 0.5);
    expect(plan).toHaveLength(100);
    expect(Math.max(...plan.map((b) => b.count))).toBe(100);
    expect(plan[plan.length - 1]!.atMs).toBeGreaterThan(9_000);
  });

  it('is ordered by time and jittered within slots', () => {
    const a = planDrain(1000, 1000, 100, () => 0);
    const b = planDrain(1000, 1000, 100, () => 0.99);
    expect(a.map((x) => x.atMs)).toEqual([...a.map((x) => x.atMs)].sort((x, y) => x - y));
    expect(a[3]!.atMs).toBeLessThan(b[3]!.atMs);
    expect(b[3]!.atMs).toBeLessThan(a[4]!.atMs);
  });

  it('closes everything at once with no window, and nothing with no connections', () => {
    expect(planDrain(5, 0)).toEqual([{ atMs: 0, count: 5 }]);
    expect(planDrain(0, 1000)).toEqual([]);
  });
});
