import { describe, expect, it } from 'vitest';
import { ShedGovernor, connectionsToShed } from './rebalance.js';

describe('connectionsToShed', () => {
  it('sheds the excess above the mean, bounded per interval', () => {
    expect(connectionsToShed(900, [900, 0, 0], 20, 1_000)).toBe(600);
    expect(connectionsToShed(900, [900, 0, 0], 20, 100)).toBe(100);
  });

  it('leaves pods within the tolerance alone', () => {
    expect(connectionsToShed(110, [110, 100, 90], 20, 100)).toBe(0);
    expect(connectionsToShed(130, [130, 100, 70], 20, 100)).toBe(30);
  });

  it('never sheds alone, empty, or below the mean', () => {
    expect(connectionsToShed(1_000, [1_000], 20, 100)).toBe(0);
    expect(connectionsToShed(0, [0, 0], 20, 100)).toBe(0);
    expect(connectionsToShed(10, [10, 500], 20, 100)).toBe(0);
  });
});

describe('ShedGovernor', () => {
  const options = { tolerancePercent: 10, maxPerInterval: 2 };
  const pods = ['a', 'b'];

  it('keeps shedding while the shed connections leave (a balancer that spreads reconnects)', () => {
    const governor = new ShedGovernor(options);
    let self = 10;
    let other = 0;
    const sheds: number[] = [];
    for (let tick = 0; tick < 10; tick += 1) {
      const { shed } = governor.decide({ self, livePodCounts: [self, other], livePods: pods });
      sheds.push(shed);
      self -= shed;
      other += shed;
    }
    expect(sheds).toEqual([2, 2, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect([self, other]).toEqual([5, 5]);
    expect(governor.givenUp).toBe(false);
  });

  it('stops when shed connections come back (a balancer that hashes them here), until the set of pods changes', () => {
    const governor = new ShedGovernor(options);
    const decisions = Array.from({ length: 6 }, () => governor.decide({ self: 8, livePodCounts: [8, 2], livePods: pods }));
    expect(decisions.map((d) => d.shed)).toEqual([2, 2, 2, 0, 0, 0]);
    expect(decisions[3]?.gaveUp).toEqual({ shed: 6, left: 0 });
    expect(decisions.slice(4).every((d) => d.gaveUp === undefined)).toBe(true);
    expect(governor.givenUp).toBe(true);
    // A scale-out (or a pod gone): keys hash elsewhere now, so shedding may work again.
    expect(governor.decide({ self: 8, livePodCounts: [8, 2, 0], livePods: ['a', 'b', 'c'] }).shed).toBe(2);
    expect(governor.givenUp).toBe(false);
  });

  it('goes on while at least a quarter of what it sheds leaves (some keys now hash to the new pod)', () => {
    const governor = new ShedGovernor({ tolerancePercent: 10, maxPerInterval: 4 });
    let self = 20;
    let other = 0;
    const sheds: number[] = [];
    for (let tick = 0; tick < 4; tick += 1) {
      const { shed } = governor.decide({ self, livePodCounts: [self, other], livePods: pods });
      sheds.push(shed);
      // One in four of the shed clients moves to the other pod; the rest come back.
      self -= shed / 4;
      other += shed / 4;
    }
    expect(sheds).toEqual([4, 4, 4, 4]);
    expect(governor.givenUp).toBe(false);
  });
});
