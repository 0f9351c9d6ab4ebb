import { describe, expect, it } from 'vitest';
import { hotFunctions, type CpuProfile } from './profile-summary.js';

describe('hotFunctions', () => {
  it('ranks functions by self time, leaving idle out of the total', () => {
    const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 9 });
    const profile: CpuProfile = {
      nodes: [{ id: 1, callFrame: frame('(idle)') }, { id: 2, callFrame: frame('hot', 'file:///a/b/c.ts') }, { id: 3, callFrame: frame('') }],
      samples: [1, 2, 2, 3, 1],
      timeDeltas: [5_000, 3_000, 3_000, 2_000, 5_000],
    };
    expect(hotFunctions(profile, 5)).toEqual([
      { name: 'hot b/c.ts:10', selfMs: 6, percent: 75 },
      { name: '(anonymous) ', selfMs: 2, percent: 25 },
    ]);
  });
});
