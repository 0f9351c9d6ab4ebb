import { describe, expect, it } from 'vitest';
import { canaryWindowMs, createCanaryMonitor } from './canary-monitor.js';

describe('createCanaryMonitor', () => {
  it('is not fresh before any connection or canary', () => {
    const monitor = createCanaryMonitor(1_000);
    expect(monitor.received(5_000)).toBe(false);
    expect(monitor.isFresh(5_000)).toBe(false);
    monitor.reset(10_000);
    expect(monitor.isFresh(10_000)).toBe(false);
  });

  it('is fresh for two intervals plus slack after the newest canary was sent', () => {
    const monitor = createCanaryMonitor(1_000);
    expect(canaryWindowMs(1_000)).toBe(2_500);
    monitor.reset(10_000);
    expect(monitor.received(10_000)).toBe(true);
    expect(monitor.isFresh(12_500)).toBe(true);
    expect(monitor.isFresh(12_501)).toBe(false);
  });

  it('keeps the newest send time when canaries arrive out of order', () => {
    const monitor = createCanaryMonitor(1_000);
    monitor.reset(0);
    monitor.received(5_000);
    monitor.received(4_000);
    expect(monitor.isFresh(7_500)).toBe(true);
    expect(monitor.isFresh(7_501)).toBe(false);
  });

  it('ignores canaries sent before the current connection, and forgets old ones on reset', () => {
    const monitor = createCanaryMonitor(1_000);
    monitor.reset(0);
    monitor.received(1_000);
    monitor.reset(2_000);
    expect(monitor.isFresh(2_000)).toBe(false);
    expect(monitor.received(1_999)).toBe(false);
    expect(monitor.isFresh(2_000)).toBe(false);
    expect(monitor.received(2_000)).toBe(true);
    expect(monitor.isFresh(2_000)).toBe(true);
  });

  it('caps the slack at one second', () => {
    expect(canaryWindowMs(200)).toBe(500);
    expect(canaryWindowMs(10_000)).toBe(21_000);
  });
});
