import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startHeartbeat } from './heartbeat.js';

describe('heartbeat', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function port() {
    return { pings: 0, deaths: 0, sendPing() { this.pings += 1; }, dead() { this.deaths += 1; } };
  }

  it('pings every interval and stays alive while frames arrive', () => {
    const p = port();
    const heartbeat = startHeartbeat(p, 1_000, 3_000);
    for (let i = 0; i < 10; i += 1) {
      vi.advanceTimersByTime(1_000);
      heartbeat.received();
    }
    expect(p.pings).toBe(10);
    expect(p.deaths).toBe(0);
    heartbeat.stop();
  });

  it('declares the connection dead once when nothing arrives within the timeout of a ping', () => {
    const p = port();
    startHeartbeat(p, 1_000, 2_500);
    vi.advanceTimersByTime(1_000); // ping 1, deadline at 3_500
    vi.advanceTimersByTime(2_499);
    expect(p.deaths).toBe(0);
    vi.advanceTimersByTime(1);
    expect(p.deaths).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(p.deaths).toBe(1);
    expect(p.pings).toBe(3);
  });

  it('measures the timeout from the oldest unanswered ping', () => {
    const p = port();
    const heartbeat = startHeartbeat(p, 1_000, 1_500);
    vi.advanceTimersByTime(1_000);
    heartbeat.received();
    vi.advanceTimersByTime(1_000); // ping 2 unanswered: deadline at 3_500
    vi.advanceTimersByTime(1_499);
    expect(p.deaths).toBe(0);
    vi.advanceTimersByTime(1);
    expect(p.deaths).toBe(1);
  });

  it('does nothing after stop', () => {
    const p = port();
    const heartbeat = startHeartbeat(p, 1_000, 1_500);
    vi.advanceTimersByTime(1_000);
    heartbeat.stop();
    vi.advanceTimersByTime(10_000);
    expect(p).toMatchObject({ pings: 1, deaths: 0 });
  });
});
