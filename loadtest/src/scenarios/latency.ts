import type { CaseResult } from '../report/result.js';
import { runPublishingCase, type Scenario } from './scenario-kit.js';

/** A fixed load (organizations of --members, --deliveries-per-second) and its latency percentiles. */
export const latencyScenario: Scenario = async (settings, env) => {
  const cases: CaseResult[] = [];
  const members = settings.members[0] ?? 100;
  for (const [caseIndex, kind] of settings.targets.entries()) {
    if (env.signal.aborted) break;
    cases.push(await runPublishingCase(settings, env, { kind, caseIndex, members, label: (rate) => `${rate * members}/s members=${members}` }));
  }
  return cases;
};
