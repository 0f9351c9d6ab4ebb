import { describe, expect, it } from 'vitest';
import { GIVE_UP, RetryPolicy, STAY_CLOSED, targetIndex, type RetryOptions } from './retry-policy.js';

function policy(options: Partial<RetryOptions> = {}, random = (): number => 0.5): RetryPolicy {
  return new RetryPolicy({ connectRetries: 3, reconnect: true, reconnectJitterMs: 1_000, ...options }, random);
}

describe('RetryPolicy', () => {
  it('reconnects a dropped connection after a random delay up to the jitter', () => {
    expect(policy({}, () => 0).afterDrop()).toBe(0);
    expect(policy({}, () => 0.25).afterDrop()).toBe(250);
    expect(policy({ reconnectJitterMs: 0 }, () => 0.9).afterDrop()).toBe(0);
  });

  it('leaves a dropped connection closed without reconnect', () => {
    let draws = 0;
    expect(policy({ reconnect: false }, () => (draws += 1)).afterDrop()).toBe(STAY_CLOSED);
    expect(draws).toBe(0);
  });

  it('backs off exponentially from 100 ms up to 2 s, times 0.5…1.5 at random', () => {
    const median = policy({ connectRetries: 10 });
    expect([1, 2, 3, 4, 5, 6, 10].map((attempts) => median.afterFailedAttempt(attempts, false))).toEqual([100, 200, 400, 800, 1_600, 2_000, 2_000]);
    expect(policy({}, () => 0).afterFailedAttempt(2, false)).toBe(100);
    expect(policy({}, () => 0.999).afterFailedAttempt(2, false)).toBeCloseTo(299.8);
  });

  it('retries `connectRetries` times after the first attempt, then gives up', () => {
    const p = policy({ connectRetries: 2 });
    expect(p.afterFailedAttempt(1, false)).toBeGreaterThanOrEqual(0);
    expect(p.afterFailedAttempt(2, false)).toBeGreaterThanOrEqual(0);
    expect(p.afterFailedAttempt(3, false)).toBe(GIVE_UP);
    expect(policy({ connectRetries: 0 }).afterFailedAttempt(1, false)).toBe(GIVE_UP);
  });

  it('counts a reconnect that ran out of retries as a failure only when reconnecting', () => {
    expect(policy({ connectRetries: 0 }).afterFailedAttempt(1, true)).toBe(GIVE_UP);
    expect(policy({ connectRetries: 0, reconnect: false }).afterFailedAttempt(1, true)).toBe(STAY_CLOSED);
  });

  it('rejects options it cannot honour', () => {
    expect(() => policy({ connectRetries: -1 })).toThrow(RangeError);
    expect(() => policy({ connectRetries: 1.5 })).toThrow(RangeError);
    expect(() => policy({ reconnectJitterMs: -1 })).toThrow(RangeError);
  });
});

describe('targetIndex', () => {
  it('starts at the home target and moves to the next one on each retry', () => {
    expect([0, 1, 2, 3].map((attempts) => targetIndex(4, attempts, 3))).toEqual([1, 2, 0, 1]);
    expect(targetIndex(7, 5, 1)).toBe(0);
  });
});
