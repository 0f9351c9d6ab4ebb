import type { CaseResult } from '../report/result.js';
import { runPublishingCase, type Scenario } from './scenario-kit.js';

/**
 * Connections with client heartbeats (and the server's own pings, on a short interval) and a
 * trickle of events for --duration: RSS drift, losses, lag over time.
 */
export const soakScenario: Scenario = async (settings, env) => {
  const cases: CaseResult[] = [];
  const members = settings.members[0] ?? 100;
  const gatewayEnv = { HEARTBEAT_INTERVAL_MS: '5000', HEARTBEAT_TIMEOUT_MS: '15000' };
  for (const [caseIndex, kind] of settings.targets.entries()) {
    if (env.signal.aborted) break;
    cases.push(await runPublishingCase(settings, env, { kind, caseIndex, members, gatewayEnv, label: () => `soak ${settings.durationMs / 1000}s` }));
  }
  return cases;
};
