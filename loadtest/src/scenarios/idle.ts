import type { CaseResult } from '../report/result.js';
import { runLoadCase } from './load-case.js';
import { caseOptions, makeKeys, startTarget, withTarget, type Scenario } from './scenario-kit.js';

/** Hold --connections authenticated connections: server RSS per connection above the idle baseline. */
export const idleScenario: Scenario = async (settings, env) => {
  const cases: CaseResult[] = [];
  const members = settings.members[0] ?? 100;
  for (const [index, kind] of settings.targets.entries()) {
    if (env.signal.aborted) break;
    const keys = makeKeys('HS256');
    cases.push(await withTarget(() => startTarget(kind, settings, `${env.runId}${index}`, keys.verification), (target) => runLoadCase(caseOptions(settings, env, {
      label: `idle ${settings.connections} conns`,
      caseIndex: index,
      target,
      keys,
      members,
    }))));
  }
  return cases;
};
