import type { CaseResult } from '../report/result.js';
import { eventsPerSecondFor } from '../settings.js';
import { MAX_EVENTS } from './fanout.js';
import { runLoadCase } from './load-case.js';
import { caseOptions, makeKeys, startTarget, withTarget, type Scenario } from './scenario-kit.js';

/**
 * Connections with client heartbeats (and the server's own pings, on a short interval) and a
 * trickle of events for --duration: RSS drift, losses, lag over time.
 */
export const soakScenario: Scenario = async (settings, env) => {
  const cases: CaseResult[] = [];
  const members = settings.members[0] ?? 100;
  const rate = eventsPerSecondFor(settings, members);
  for (const [index, kind] of settings.targets.entries()) {
    if (env.signal.aborted) break;
    const keys = makeKeys('HS256');
    const start = (): ReturnType<typeof startTarget> => startTarget(kind, settings, `${env.runId}${index}`, keys.verification, { HEARTBEAT_INTERVAL_MS: '5000', HEARTBEAT_TIMEOUT_MS: '15000' });
    cases.push(await withTarget(start, (target) => runLoadCase(caseOptions(settings, env, {
      label: `soak ${settings.durationMs / 1000}s`,
      caseIndex: index,
      target,
      keys,
      members,
      publish: { ratePerSecond: rate, durationMs: settings.durationMs, maxEvents: MAX_EVENTS, padBytes: settings.padBytes, drainTimeoutMs: 15_000 },
    }))));
  }
  return cases;
};
