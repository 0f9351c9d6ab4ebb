import { formatBytes, formatCount, formatMicros, formatRatio } from './format.js';
import type { CaseResult, Comparison, RunResult } from './result.js';

type Check = RunResult['targetsChecked'][number];

/**
 * The targets, checked against whatever this run measured. A target the run did not
 * exercise (wrong scenario, size too small) is reported with met = undefined, never as met.
 */
export function checkGoals(scenario: string, cases: readonly CaseResult[], comparisons: readonly Comparison[]): Check[] {
  const ours = cases.filter((c) => c.target === 'orgcast');
  const checks: Check[] = [];
  if (scenario === 'idle') {
    for (const c of ours) {
      const v = c.memory.serverRssPerConnectionBytes;
      checks.push({ name: 'RSS per idle connection', target: '≤ 2 KiB', value: formatBytes(v), met: v <= 2048 });
      checks.push({
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
      checks.push({ name: 'server CPU per delivery at fan-out 100', target: '≤ 1 µs', value: `${v.toFixed(2)} µs`, met: v <= 1 });
      const sio = comparisons.find((x) => x.label === c.label && x.baseline === 'socketio' && x.metric === 'server CPU µs per delivery');
      if (sio !== undefined) checks.push({ name: 'CPU per delivery vs Socket.IO', target: '≥ 10× better', value: `${formatRatio(1 / sio.ratio)} better`, met: 1 / sio.ratio >= 10 });
      const uws = comparisons.find((x) => x.label === c.label && x.baseline === 'uws-ceiling' && x.metric === 'server CPU µs per delivery');
      if (uws !== undefined) checks.push({ name: 'CPU per delivery vs bare uWS', target: '≤ 1.3× the ceiling', value: formatRatio(uws.ratio), met: uws.ratio <= 1.3 });
    }
  }
  if (scenario === 'latency') {
    for (const c of ours.filter((x) => x.delivery !== undefined)) {
      const d = c.delivery!;
      checks.push({
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
      checks.push({ name: 'HS256 connects per second per core', target: '≥ 5,000', value: `${formatCount(perCore)} (${formatCount(c.connect.perSecond)}/s measured)`, met: perCore >= 5_000 });
    }
  }
  if (scenario === 'storm') {
    for (const c of ours.filter((x) => x.reconnect !== undefined)) {
      const r = c.reconnect!;
      checks.push({ name: 'all clients back after a pod kill', target: '≤ 10 s', value: r.allBackMs === undefined ? 'not all back' : `${(r.allBackMs / 1000).toFixed(2)} s`, met: r.allBackMs !== undefined && r.allBackMs <= 10_000 });
      if (c.delivery !== undefined) checks.push({ name: 'events lost in the storm', target: '0', value: formatCount(c.delivery.lost), met: c.delivery.lost === 0 });
    }
  }
  return checks;
}
