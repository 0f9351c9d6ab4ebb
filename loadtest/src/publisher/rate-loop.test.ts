import { describe, expect, it } from 'vitest';
import { runRateLoop } from './rate-loop.js';

describe('runRateLoop', () => {
  it('stops at the event count', async () => {
    const seen: number[] = [];
    const result = await runRateLoop({ ratePerSecond: 0, durationMs: 5_000, maxEvents: 2_500 }, (i) => { seen.push(i); return true; }, async () => {});
    expect(result.sent).toBe(2_500);
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(2_499);
  });

  it('paces to the rate and stops at the duration', async () => {
    const result = await runRateLoop({ ratePerSecond: 1_000, durationMs: 200, maxEvents: 1_000_000 }, () => true, async () => {});
    // 1,000/s for 200 ms is about 200 events; the bound is loose on purpose (shared CI machine).
    expect(result.sent).toBeGreaterThan(20);
    expect(result.sent).toBeLessThanOrEqual(205);
  });

  it('waits for drain when the transport pushes back', async () => {
    let drains = 0;
    const result = await runRateLoop({ ratePerSecond: 0, durationMs: 5_000, maxEvents: 10 }, (i) => i % 3 !== 2, async () => { drains += 1; });
    expect(result.sent).toBe(10);
    expect(drains).toBe(3);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await runRateLoop({ ratePerSecond: 0, durationMs: 5_000, maxEvents: 10, signal: controller.signal }, () => true, async () => {})).sent).toBe(0);
  });
});
