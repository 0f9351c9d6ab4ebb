import { describe, expect, it } from 'vitest';
import { createConnectRateLimiter } from './connect-rate-limiter.js';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

describe('createConnectRateLimiter', () => {
  it('limits each address on its own', () => {
    const c = clock();
    const limiter = createConnectRateLimiter({ ratePerSecond: 1, burst: 2, now: c.now });
    expect([limiter.allow('10.0.0.1'), limiter.allow('10.0.0.1'), limiter.allow('10.0.0.1')]).toEqual([true, true, false]);
    expect(limiter.allow('10.0.0.2')).toBe(true);
    c.advance(1_000);
    expect([limiter.allow('10.0.0.1'), limiter.allow('10.0.0.1')]).toEqual([true, false]);
  });

  it('lets dozens of connects per second through with the default settings', () => {
    const c = clock();
    const limiter = createConnectRateLimiter({ ratePerSecond: 50, burst: 200, now: c.now });
    let allowed = 0;
    for (let i = 0; i < 40 * 30; i += 1) {
      if (limiter.allow('192.0.2.7')) allowed += 1;
      c.advance(1000 / 40);
    }
    expect(allowed).toBe(40 * 30);
  });

  it('holds a sustained flood from one address to the burst plus the rate', () => {
    const c = clock();
    const limiter = createConnectRateLimiter({ ratePerSecond: 50, burst: 200, now: c.now });
    let allowed = 0;
    for (let i = 0; i < 1_000 * 10; i += 1) {
      if (limiter.allow('192.0.2.7')) allowed += 1;
      c.advance(1);
    }
    expect(allowed).toBeGreaterThanOrEqual(200 + 50 * 10 - 1);
    expect(allowed).toBeLessThanOrEqual(200 + 50 * 10);
  });

  it('stays bounded under a flood of distinct addresses', () => {
    const c = clock();
    const limiter = createConnectRateLimiter({ ratePerSecond: 1, burst: 5, maxTrackedAddresses: 100, now: c.now });
    for (let i = 0; i < 10_000; i += 1) limiter.allow(`spoofed-${i}`);
    expect(limiter.trackedAddresses).toBe(100);
  });

  it('keeps the bucket of an address that keeps coming back while the flood evicts others', () => {
    const c = clock();
    const limiter = createConnectRateLimiter({ ratePerSecond: 0.001, burst: 3, maxTrackedAddresses: 10, now: c.now });
    for (let i = 0; i < 3; i += 1) limiter.allow('abuser');
    for (let i = 0; i < 1_000; i += 1) {
      limiter.allow(`flood-${i}`);
      if (i % 5 === 0) expect(limiter.allow('abuser')).toBe(false);
    }
  });

  it('forgets idle addresses once their buckets have refilled', () => {
    const c = clock();
    const limiter = createConnectRateLimiter({ ratePerSecond: 10, burst: 10, now: c.now });
    for (let i = 0; i < 50; i += 1) limiter.allow(`198.51.100.${i}`);
    expect(limiter.trackedAddresses).toBe(50);
    c.advance(1_000);
    for (let i = 0; i < 30; i += 1) limiter.allow('203.0.113.1');
    // ~2 idle buckets are dropped per call; the repeat visitor's own bucket is still tracked.
    expect(limiter.trackedAddresses).toBe(1);
  });

  it('rejects bad options up front', () => {
    expect(() => createConnectRateLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => createConnectRateLimiter({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
    expect(() => createConnectRateLimiter({ ratePerSecond: 1, burst: 1, maxTrackedAddresses: 0 })).toThrow(RangeError);
  });
});
