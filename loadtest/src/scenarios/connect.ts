import type { CaseResult } from '../report/result.js';
import { runLoadCase } from './load-case.js';
import { caseOptions, makeKeys, startTarget, withTarget, type Scenario } from './scenario-kit.js';

/**
 * Connects per second and server CPU per connect, one case per signing algorithm against the same
 * server (orgcast verifies both HS256 and ES256 at once). The Socket.IO baseline only verifies
 * HS256; the ceiling verifies nothing (it is the no-auth reference in the HS256 pair).
 */
export const connectScenario: Scenario = async (settings, env) => {
  const cases: CaseResult[] = [];
  const members = settings.members[0] ?? 100;
  const keys = new Map(settings.algorithms.map((alg) => [alg, makeKeys(alg)] as const));
  const verification = { secret: keys.get('HS256')?.verification.secret, publicKeyPem: keys.get('ES256')?.verification.publicKeyPem };
  let caseIndex = 0;
  for (const [targetIndex, kind] of settings.targets.entries()) {
    const algorithms = kind === 'orgcast' ? settings.algorithms : settings.algorithms.filter((a) => a === 'HS256');
    if (algorithms.length === 0 || env.signal.aborted) continue;
    await withTarget(() => startTarget(kind, settings, `${env.runId}${targetIndex}`, verification), async (target) => {
      for (const alg of algorithms) {
        if (env.signal.aborted) return;
        cases.push(await runLoadCase(caseOptions(settings, env, {
          label: alg,
          caseIndex: caseIndex++,
          target,
          keys: keys.get(alg)!,
          members,
          overrides: { settleMs: Math.min(settings.settleMs, 1_000), holdMs: 0 },
        })));
      }
    });
  }
  return cases;
};
