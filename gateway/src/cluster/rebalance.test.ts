import { describe, expect, it } from 'vitest';
import { connectionsToShed } from './rebalance.js';

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
