import fc from 'fast-check';

/**
 * Every fuzz case is drawn on its own from the run's seed, the stream and its index, so any one case
 * can be drawn again (to replay or shrink it) without drawing the others.
 */

export function caseSeed(runSeed: number, stream: string, index: number): number {
  // FNV-1a over the three parts: a well-spread 32-bit seed.
  let h = 0x811c9dc5;
  for (const ch of `${runSeed}/${stream}/${index}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

export function drawCase<T>(arbitrary: fc.Arbitrary<T>, seed: number): T {
  return fc.sample(arbitrary, { seed, numRuns: 1 })[0]!;
}

/**
 * fast-check's shrinking of the case drawn from `seed`: the smallest value found within `timeLimitMs`
 * for which `fails` still holds; undefined when the case does not fail again.
 */
export async function shrinkCase<T>(arbitrary: fc.Arbitrary<T>, seed: number, fails: (value: T) => Promise<boolean>, timeLimitMs: number): Promise<T | undefined> {
  const details = await fc.check(fc.asyncProperty(arbitrary, async (value) => !(await fails(value))), {
    seed,
    numRuns: 1,
    interruptAfterTimeLimit: timeLimitMs,
    markInterruptAsFailure: false,
  });
  return details.failed && details.counterexample !== null ? details.counterexample[0] : undefined;
}
