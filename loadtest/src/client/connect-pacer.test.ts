import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectPacer, type ConnectPacerOptions } from './connect-pacer.js';

function pacer(options: Partial<ConnectPacerOptions> = {}): { pacer: ConnectPacer; opened: number[] } {
  const opened: number[] = [];
  const p = new ConnectPacer({ connections: 10, concurrency: 3, ratePerSecond: 0, ...options }, (index) => opened.push(index));
  return { pacer: p, opened };
}

describe('ConnectPacer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens in index order, never more attempts in flight than the concurrency', () => {
    const { pacer: p, opened } = pacer();
    p.start();
    expect(opened).toEqual([0, 1, 2]);
    vi.advanceTimersByTime(100);
    expect(opened).toEqual([0, 1, 2]);
    p.release();
    expect(opened).toEqual([0, 1, 2]); // a freed slot is used on the next pump…
    p.pump();
    expect(opened).toEqual([0, 1, 2, 3]);
    p.release();
    vi.advanceTimersByTime(10); // …or the next tick
    expect(opened).toEqual([0, 1, 2, 3, 4]);
    p.stop();
  });

  it('limits the rate: a bucket refilled at the rate, holding at most `concurrency` tokens', () => {
    const { pacer: p, opened } = pacer({ connections: 100, concurrency: 5, ratePerSecond: 100 });
    const releaseAll = (): void => {
      for (let i = 0; i < opened.length; i++) p.release();
      opened.length = 0;
    };
    p.start();
    expect(opened).toHaveLength(5);
    vi.advanceTimersByTime(200); // 20 tokens due while every slot is busy; the bucket keeps 5
    releaseAll();
    p.pump();
    expect(opened).toHaveLength(5);
    releaseAll();
    p.pump();
    expect(opened).toHaveLength(0);
    vi.advanceTimersByTime(30); // one token per 10 ms tick
    expect(opened).toHaveLength(3);
    p.stop();
  });

  it('starts with as many tokens as one second of the rate when that is below the concurrency', () => {
    const { pacer: p, opened } = pacer({ connections: 100, concurrency: 50, ratePerSecond: 25 });
    p.start();
    expect(opened).toHaveLength(25);
    vi.advanceTimersByTime(30);
    expect(opened).toHaveLength(25);
    vi.advanceTimersByTime(10); // 4 ticks of a quarter token
    expect(opened).toHaveLength(26);
    p.stop();
  });

  it('reopens a connection after its delay, in turn behind the queue', () => {
    const { pacer: p, opened } = pacer({ connections: 4, concurrency: 1 });
    p.start();
    expect(opened).toEqual([0]);
    p.release();
    p.reopenAfter(0, 50);
    vi.advanceTimersByTime(10);
    expect(opened).toEqual([0, 1]);
    p.release();
    vi.advanceTimersByTime(45);
    expect(opened).toEqual([0, 1, 2]);
    p.release();
    vi.advanceTimersByTime(10);
    expect(opened).toEqual([0, 1, 2, 3]);
    p.release();
    vi.advanceTimersByTime(10);
    expect(opened).toEqual([0, 1, 2, 3, 0]);
    p.stop();
  });

  it('opens nothing once stopped: queue, delayed reopens and ticker are dropped', () => {
    const { pacer: p, opened } = pacer({ connections: 5, concurrency: 1 });
    p.start();
    p.release();
    p.reopenAfter(0, 50);
    p.stop();
    expect(vi.getTimerCount()).toBe(0);
    p.pump();
    vi.advanceTimersByTime(1_000);
    expect(opened).toEqual([0]);
  });

  it('rejects options it cannot honour', () => {
    expect(() => pacer({ concurrency: 0 })).toThrow(RangeError);
    expect(() => pacer({ ratePerSecond: -1 })).toThrow(RangeError);
    expect(() => pacer({ connections: 1.5 })).toThrow(RangeError);
  });
});
