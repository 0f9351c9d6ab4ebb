import type { CaseResult } from '../report/result.js';
import { eventsPerSecondFor } from '../settings.js';
import { runLoadCase } from './load-case.js';
import { caseOptions, makeKeys, startTarget, withTarget, type Scenario } from './scenario-kit.js';

/** Event cap of a publish phase; the duration is what normally ends it. */
export const MAX_EVENTS = 100_000_000;

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
      const keys = makeKeys('HS256');
      const index = caseIndex++;
      const rate = eventsPerSecondFor(settings, members);
      cases.push(await withTarget(() => startTarget(kind, settings, `${env.runId}${index}`, keys.verification), (target) => runLoadCase(caseOptions(settings, env, {
        label: `members=${members}`,
        caseIndex: index,
        target,
        keys,
        members,
        publish: { ratePerSecond: rate, durationMs: settings.durationMs, maxEvents: MAX_EVENTS, padBytes: settings.padBytes, drainTimeoutMs: 15_000 },
      }))));
    }
  }
  return cases;
};
