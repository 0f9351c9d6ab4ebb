/**
 * Reproducible randomness for the chaos run. Every part of the run (the fault plan, the publish
 * plan, each client) draws from its own stream, forked from the run's seed by name, so that one
 * part's draws never shift another's: the same seed gives the same faults and the same events
 * whatever the timing of the clients.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A copy of `items` in random order. */
  shuffle<T>(items: readonly T[]): T[];
  /** An independent stream for `name`. */
  fork(name: string): Random;
}

export function createRandom(seed: number): Random {
  // mulberry32: small, fast, well spread over 32-bit seeds.
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const random: Random = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick(items) {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    shuffle(items) {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i -= 1) {
        const j = Math.floor(next() * (i + 1));
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    },
    fork: (name) => createRandom(mix(seed, name)),
  };
  return random;
}

/** A fresh 31-bit seed for a run that was not given one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}

/** FNV-1a over the seed and the name. */
function mix(seed: number, name: string): number {
  let h = 0x811c9dc5;
  for (const ch of `${seed}/${name}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
