import type { CaseResult } from '../report/result.js';
import { runPublishingCase, type Scenario } from './scenario-kit.js';

/**
 * Organizations of each size in --members, every target in turn (pair by pair): deliveries/s,
 * server CPU per delivery, publish→receive latency, losses and duplicates.
 */
export const fanoutScenario: Scenario = async (settings, env) => {
  const cases: CaseResult[] = [];
  let caseIndex = 0;
  for (const members of settings.members) {
    for (const kind of settings.targets) {
      if (env.signal.aborted) return cases;
      cases.push(await runPublishingCase(settings, env, { kind, caseIndex: caseIndex++, members, label: () => `members=${members}` }));
    }
  }
  return cases;
};
