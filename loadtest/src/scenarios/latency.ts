import type { CaseResult } from '../report/result.js';
import { eventsPerSecondFor } from '../settings.js';
import { MAX_EVENTS } from './fanout.js';
import { runLoadCase } from './load-case.js';
import { caseOptions, makeKeys, startTarget, withTarget, type Scenario } from './scenario-kit.js';

/** A fixed load (organizations of --members, --deliveries-per-second) and its latency percentiles. */
export const latencyScenario: Scenario = async (settings, env) => {
  const cases: CaseResult[] = [];
  const members = settings.members[0] ?? 100;
  const rate = eventsPerSecondFor(settings, members);
  for (const [index, kind] of settings.targets.entries()) {
    if (env.signal.aborted) break;
    const keys = makeKeys('HS256');
    cases.push(await withTarget(() => startTarget(kind, settings, `${env.runId}${index}`, keys.verification), (target) => runLoadCase(caseOptions(settings, env, {
      label: `${rate * members}/s members=${members}`,
      caseIndex: index,
      target,
      keys,
      members,
      publish: { ratePerSecond: rate, durationMs: settings.durationMs, maxEvents: MAX_EVENTS, padBytes: settings.padBytes, drainTimeoutMs: 15_000 },
    }))));
  }
  return cases;
};
