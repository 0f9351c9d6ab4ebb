import type { CaseResult, ReconnectResult } from '../report/result.js';
import { eventsPerSecondFor } from '../settings.js';
import { startClusterTarget } from '../targets/cluster-target.js';
import type { CaseContext } from './load-case.js';
import { runLoadCase } from './load-case.js';
import { caseOptions, makeKeys, MAX_EVENTS, withTarget, type Scenario } from './scenario-kit.js';

/** How long to wait for the killed pod's clients to come back before giving up. */
const RECOVERY_TIMEOUT_MS = 60_000;
const POLL_MS = 50;
const NO_DROP_MS = 10_000;

/** Kills pod 0 `killAfterMs` into publishing and follows the open-connection count until all are back. */
export function killAndWatch(killAfterMs: number): (context: CaseContext) => Promise<Omit<ReconnectResult, 'reconnectLatency'>> {
  return async ({ pool, target, progress, established }) => {
    await sleep(killAfterMs);
    if (target.killPod === undefined) throw new Error(`${target.kind} cannot kill a pod`);
    const start = pool.snapshot();
    const before = start.open;
    const closesBefore = sum(start.closes);
    const killedAt = Date.now();
    await target.killPod(0);
    progress.log(`storm: killed pod 0 with ${before} connections open in total`);
    let minOpen = before;
    let allBackMs: number | undefined;
    while (Date.now() - killedAt < RECOVERY_TIMEOUT_MS) {
      const open = pool.snapshot().open;
      minOpen = Math.min(minOpen, open);
      if (minOpen < before && open >= established) {
        allBackMs = Date.now() - killedAt;
        break;
      }
      // The killed pod held none of the clients: nothing to come back.
      if (minOpen === before && Date.now() - killedAt > NO_DROP_MS && sum(pool.snapshot().closes) === closesBefore) {
        allBackMs = 0;
        break;
      }
      await sleep(POLL_MS);
    }
    const dropped = sum(pool.snapshot().closes) - closesBefore;
    progress.log(`storm: ${dropped} connections dropped; ${allBackMs === undefined ? 'not all came back' : `all back after ${allBackMs} ms`}`);
    return { killedPod: 0, droppedConnections: dropped, allBackMs };
  };
}

/**
 * orgcast behind nginx (cluster harness), events flowing; one pod is killed with SIGKILL. Its
 * clients reconnect through nginx with `resume` (the last id seen per organization); counted at
 * the clients: time until every client is back, events lost, duplicates.
 */
export const stormScenario: Scenario = async (settings, env) => {
  const cases: CaseResult[] = [];
  if (settings.pods < 2) throw new Error('storm needs --pods 2 or more');
  const members = settings.members[0] ?? 100;
  const rate = eventsPerSecondFor(settings, members);
  const keys = makeKeys('HS256');
  const runId = `${env.runId}0`;
  const start = (): ReturnType<typeof startClusterTarget> => startClusterTarget({
    runId,
    pods: settings.pods,
    verification: keys.verification,
    amqpUrl: settings.amqpUrl,
    ...(settings.redisUrl !== undefined && { redisUrl: settings.redisUrl }),
    // Every pod may have to take any client; a gateway lowers this to what its open-files limit
    // allows by itself, and at that limit refuses (503) so the client retries elsewhere.
    maxConnectionsPerPod: Math.max(1_000, settings.connections),
    env: settings.gatewayEnv,
    // A worker holds two descriptors per proxied connection (≤ 9,900 connections each); nginx does
    // not spread connections evenly over workers, so keep headroom.
    nginxWorkers: Math.max(1, Math.ceil(settings.connections / 3_500)),
  });
  cases.push(await withTarget(start, (target) => runLoadCase(caseOptions(settings, env, {
    label: `kill 1 of ${settings.pods} pods`,
    caseIndex: 0,
    target,
    keys,
    members,
    publish: { ratePerSecond: rate, durationMs: Math.max(settings.durationMs, settings.killAfterMs + 2_000), maxEvents: MAX_EVENTS, padBytes: settings.padBytes, drainTimeoutMs: 20_000 },
    overrides: {
      reconnect: true,
      trackIds: true,
      reconnectJitterMs: 500,
      statsIntervalMs: 100,
      duringPublish: killAndWatch(settings.killAfterMs),
      connect: { ...caseOptions(settings, env, { label: '', caseIndex: 0, target, keys, members }).connect, retries: 30 },
    },
  }))));
  return cases;
};

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
