import { describe, expect, it } from 'vitest';
import { PodRing } from './pod-ring.js';

const KEYS = Array.from({ length: 10_000 }, (_, i) => `org-${i}`);

function owners(ring: PodRing): Map<string, string | undefined> {
  return new Map(KEYS.map((key) => [key, ring.ownerOf(key)]));
}

function ringOf(pods: string[], self = pods[0] ?? 'nobody'): PodRing {
  const ring = new PodRing(self);
  ring.update(pods);
  return ring;
}

describe('PodRing', () => {
  it('gives every pod the same owner for every key, whatever order the names came in', () => {
    const a = ringOf(['gw-0', 'gw-1', 'gw-2'], 'gw-0');
    const b = ringOf(['gw-2', 'gw-0', 'gw-1', 'gw-0'], 'gw-2');
    expect(a.pods).toEqual(['gw-0', 'gw-1', 'gw-2']);
    expect(owners(a)).toEqual(owners(b));
    for (const key of KEYS.slice(0, 500)) {
      expect(a.owns(key)).toBe(a.ownerOf(key) === 'gw-0');
      expect(b.owns(key)).toBe(b.ownerOf(key) === 'gw-2');
    }
  });

  it('spreads keys over all pods', () => {
    const ring = ringOf(['gw-0', 'gw-1', 'gw-2']);
    const counts = new Map<string | undefined, number>();
    for (const owner of owners(ring).values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(['gw-0', 'gw-1', 'gw-2']);
    for (const count of counts.values()) expect(count).toBeGreaterThan(KEYS.length * 0.2);
  });

  it('a fourth pod takes about a quarter of the keys, all moving to it', () => {
    const ring = ringOf(['gw-0', 'gw-1', 'gw-2']);
    const before = owners(ring);
    expect(ring.update(['gw-0', 'gw-1', 'gw-2', 'gw-3'])).toEqual({ added: ['gw-3'], removed: [] });
    const after = owners(ring);
    const moved = KEYS.filter((key) => before.get(key) !== after.get(key));
    for (const key of moved) expect(after.get(key)).toBe('gw-3');
    expect(moved.length).toBeGreaterThan(KEYS.length * 0.15);
    expect(moved.length).toBeLessThan(KEYS.length * 0.35);
  });

  it('removing a pod moves only the keys it owned', () => {
    const ring = ringOf(['gw-0', 'gw-1', 'gw-2', 'gw-3']);
    const before = owners(ring);
    expect(ring.update(['gw-0', 'gw-2', 'gw-3'])).toEqual({ added: [], removed: ['gw-1'] });
    const after = owners(ring);
    let moved = 0;
    for (const key of KEYS) {
      if (before.get(key) === 'gw-1') {
        moved += 1;
        expect(after.get(key)).not.toBe('gw-1');
      } else {
        expect(after.get(key)).toBe(before.get(key));
      }
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('reports no change for the same set, and both sides of a swap', () => {
    const ring = ringOf(['gw-0', 'gw-1']);
    expect(ring.update(['gw-1', 'gw-0'])).toEqual({ added: [], removed: [] });
    expect(ring.update(['gw-1', 'gw-2'])).toEqual({ added: ['gw-2'], removed: ['gw-0'] });
    expect(ring.pods).toEqual(['gw-1', 'gw-2']);
  });

  it('an empty ring owns nothing, and a pod outside the ring owns nothing', () => {
    const empty = new PodRing('gw-0');
    expect(empty.pods).toEqual([]);
    expect(empty.ownerOf('org-1')).toBeUndefined();
    expect(empty.owns('org-1')).toBe(false);
    const outside = ringOf(['gw-1', 'gw-2'], 'gw-0');
    expect(KEYS.some((key) => outside.owns(key))).toBe(false);
    outside.update([]);
    expect(outside.ownerOf('org-1')).toBeUndefined();
  });

  it('a single pod owns everything', () => {
    const ring = ringOf(['gw-0'], 'gw-0');
    expect(KEYS.every((key) => ring.owns(key))).toBe(true);
  });

  it('refuses an empty self name', () => {
    expect(() => new PodRing('')).toThrow(TypeError);
  });
});
