import type { CaseResult, Comparison } from './result.js';

interface Metric {
  readonly name: string;
  readonly lowerIsBetter: boolean;
  readonly value: (c: CaseResult) => number | undefined;
}

const METRICS: readonly Metric[] = [
  { name: 'server CPU µs per delivery', lowerIsBetter: true, value: (c) => c.delivery?.serverCpuUsPerDelivery },
  { name: 'deliveries/s', lowerIsBetter: false, value: (c) => c.delivery?.perSecond },
  { name: 'latency p50 µs', lowerIsBetter: true, value: (c) => c.delivery?.latency.p50 },
  { name: 'latency p99 µs', lowerIsBetter: true, value: (c) => c.delivery?.latency.p99 },
  { name: 'server RSS bytes per connection', lowerIsBetter: true, value: (c) => c.memory.serverRssPerConnectionBytes },
  { name: 'connects/s', lowerIsBetter: false, value: (c) => c.connect.perSecond },
  { name: 'server CPU µs per connect', lowerIsBetter: true, value: (c) => c.connect.serverCpuUsPerConnect },
];

/**
 * ours / baseline, case by case: each orgcast case against the baseline case with the same label
 * (same scenario, same layout, same run, measured back to back).
 */
export function compareCases(cases: readonly CaseResult[]): Comparison[] {
  const out: Comparison[] = [];
  for (const ours of cases.filter((c) => c.target === 'orgcast')) {
    for (const theirs of cases.filter((c) => c.target !== 'orgcast' && c.label === ours.label)) {
      for (const metric of METRICS) {
        const a = metric.value(ours);
        const b = metric.value(theirs);
        if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) continue;
        out.push({ label: ours.label, metric: metric.name, baseline: theirs.target, ours: a, theirs: b, ratio: a / b, lowerIsBetter: metric.lowerIsBetter });
      }
    }
  }
  return out;
}
