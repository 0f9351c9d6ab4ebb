import { formatBytes, formatCount, formatMicros, formatRatio } from './format.js';
import type { CaseResult, Comparison, RunResult } from './result.js';

type Check = RunResult['targetsChecked'][number];

/**
 * The size the targets are set for: `npm run bench`'s full run (BENCHMARKS.md). A smaller run
 * (a smoke test, a 5-second try) still gets each verdict, marked indicative: its numbers carry
 * start-up and warm-up, and the targets were not meant for them.
 */
export const FULL_SIZE = { connections: 19_000, durationMs: 30_000 } as const;

/** Scenarios whose numbers come from a publishing phase of `--duration`. */
const TIMED = new Set(['fanout', 'latency', 'storm', 'soak']);

/**
 * The targets, checked against whatever this run measured. A target the run did not
 * exercise (wrong scenario, size too small) is reported with met = undefined, never as met; a
 * verdict of a run below FULL_SIZE is `indicative`.
 */
export function checkGoals(scenario: string, cases: readonly CaseResult[], comparisons: readonly Comparison[], run: { readonly durationMs: number }): Check[] {
  const ours = cases.filter((c) => c.target === 'orgcast');
  const checks: Check[] = [];
  const small = (c: CaseResult): boolean => c.connections < FULL_SIZE.connections || (TIMED.has(scenario) && run.durationMs < FULL_SIZE.durationMs);
  const push = (c: CaseResult, check: Omit<Check, 'indicative'>, correctness = false): void => {
    // A loss is a loss at any size: correctness checks are never only indicative.
    checks.push({ ...check, indicative: !correctness && small(c) });
  };
  if (scenario === 'idle') {
    for (const c of ours) {
      const v = c.memory.serverRssPerConnectionBytes;
      push(c, { name: 'RSS per idle connection', target: '≤ 2 KiB', value: formatBytes(v), met: v <= 2048 });
      push(c, {
        name: 'concurrent connections (4 pods)',
        target: '≥ 76,000',
        value: `${formatCount(c.connect.established)} on ${c.pods} pod(s)`,
        met: c.pods === 4 && c.connections >= 76_000 ? c.connect.established >= 76_000 : undefined,
      });
    }
  }
  if (scenario === 'fanout') {
    for (const c of ours.filter((x) => x.membersPerOrg === 100 && x.delivery !== undefined)) {
      const v = c.delivery!.serverCpuUsPerDelivery;
      push(c, { name: 'server CPU per delivery at fan-out 100', target: '≤ 1 µs', value: `${v.toFixed(2)} µs`, met: v <= 1 });
      const sio = comparisons.find((x) => x.label === c.label && x.baseline === 'socketio' && x.metric === 'server CPU µs per delivery');
      if (sio !== undefined) push(c, { name: 'CPU per delivery vs Socket.IO', target: '≥ 10× better', value: `${formatRatio(1 / sio.ratio)} better`, met: 1 / sio.ratio >= 10 });
      const uws = comparisons.find((x) => x.label === c.label && x.baseline === 'uws-ceiling' && x.metric === 'server CPU µs per delivery');
      if (uws !== undefined) push(c, { name: 'CPU per delivery vs bare uWS', target: '≤ 1.3× the ceiling', value: formatRatio(uws.ratio), met: uws.ratio <= 1.3 });
    }
  }
  if (scenario === 'latency') {
    for (const c of ours.filter((x) => x.delivery !== undefined)) {
      const d = c.delivery!;
      push(c, {
        name: 'p99 publish→receive at 50,000 deliveries/s',
        target: '≤ 5 ms',
        value: `${formatMicros(d.latency.p99)} at ${formatCount(d.perSecond)}/s`,
        met: d.perSecond >= 45_000 ? d.latency.p99 <= 5_000 : undefined,
      });
    }
  }
  if (scenario === 'connect') {
    for (const c of ours.filter((x) => x.label === 'HS256')) {
      const perCore = 1e6 / c.connect.serverCpuUsPerConnect;
      push(c, { name: 'HS256 connects per second per core', target: '≥ 5,000', value: `${formatCount(perCore)} (${formatCount(c.connect.perSecond)}/s measured)`, met: perCore >= 5_000 });
    }
  }
  if (scenario === 'storm') {
    for (const c of ours.filter((x) => x.reconnect !== undefined)) {
      const r = c.reconnect!;
      push(c, { name: 'all clients back after a pod kill', target: '≤ 10 s', value: r.allBackMs === undefined ? 'not all back' : `${(r.allBackMs / 1000).toFixed(2)} s`, met: r.allBackMs !== undefined && r.allBackMs <= 10_000 });
      if (c.delivery !== undefined) push(c, { name: 'events lost in the storm', target: '0', value: formatCount(c.delivery.lost), met: c.delivery.lost === 0 }, true);
    }
  }
  return checks;
}

/** `met`, `missed`, `not exercised`; with `indicative: ` in front for a run below FULL_SIZE. */
export function verdictText(check: Check): string {
  const verdict = check.met === undefined ? 'not exercised' : check.met ? 'met' : 'missed';
  return check.indicative && check.met !== undefined ? `indicative: ${verdict}` : verdict;
}

export const INDICATIVE_NOTE = `indicative: this run is smaller than the full size the targets are set for (${FULL_SIZE.connections.toLocaleString('en-US')} connections, ${FULL_SIZE.durationMs / 1000} s of publishing: npm run bench); read its verdicts as a hint, not a result`;
