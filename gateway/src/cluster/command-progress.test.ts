import { describe, expect, it } from 'vitest';
import { CommandProgress } from './command-progress.js';

function progress(timeoutMs = 60_000) {
  const timedOut: Array<[number, number]> = [];
  return { timedOut, progress: new CommandProgress({ timeoutMs, timedOut: (seq, heard) => timedOut.push([seq, heard]) }) };
}

describe('CommandProgress', () => {
  it('releases each wait once the reader has applied its number, in any order of arrival', async () => {
    const { progress: p } = progress();
    p.applied(2);
    expect(p.hasHeard(2)).toBe(true);
    expect(p.hasHeard(3)).toBe(false);
    const released: number[] = [];
    const waits = [p.waitFor(4).then(() => released.push(4)), p.waitFor(3).then(() => released.push(3))];
    await Promise.resolve();
    expect(released).toEqual([]);
    p.applied(3);
    await Promise.resolve();
    expect(released).toEqual([3]);
    p.applied(5);
    await Promise.all(waits);
    expect(released).toEqual([3, 4]);
    // A number below the heard one changes nothing (a reader never goes back but by `restarted`).
    p.applied(1);
    expect(p.hasHeard(5)).toBe(true);
  });

  it('gives a wait up after its timeout and lets that fence pass until the reader moves again', async () => {
    const { progress: p, timedOut } = progress(30);
    p.applied(1);
    await p.waitFor(3);
    expect(timedOut).toEqual([[3, 1]]);
    expect(p.hasHeard(3)).toBe(true);
    expect(p.hasHeard(2)).toBe(true);
    expect(p.hasHeard(4)).toBe(false);
    // The reader reads again: the numbers it has not reached are waited for again.
    p.applied(2);
    expect(p.hasHeard(3)).toBe(false);
  });

  it('starts over with a counter that went back: old numbers pass until the first new command, then new ones are waited for', async () => {
    const { progress: p, timedOut } = progress();
    p.applied(99);
    // Command 100 was published, then Redis lost its data before this reader heard it.
    const stale = p.waitFor(100);
    p.restarted(0, 100);
    // The sequencer still stamps the lost counter's number until it reads the new one.
    await stale;
    expect(p.hasHeard(100)).toBe(true);
    p.applied(1);
    expect(p.hasHeard(2)).toBe(false);
    expect(p.hasHeard(100)).toBe(false);
    const wait = p.waitFor(2);
    p.applied(2);
    await wait;
    expect(timedOut).toEqual([]);
  });

  it('ends every wait when the reader stops', async () => {
    const { progress: p, timedOut } = progress();
    const wait = p.waitFor(9);
    p.close();
    await wait;
    expect(timedOut).toEqual([]);
    expect(p.hasHeard(1_000)).toBe(true);
  });
});
