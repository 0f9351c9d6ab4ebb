import { INDICATIVE_NOTE, verdictText } from './goals.js';
import { formatBytes, formatCount, formatMicros, formatRatio } from './format.js';
import type { RunResult } from './result.js';

/** The end-of-run summary printed to the terminal. */
export function textSummary(result: RunResult): string {
  const lines: string[] = [];
  lines.push(`scenario ${result.scenario}: ${result.cases.length} case(s) in ${(result.durationMs / 1000).toFixed(1)} s`);
  for (const c of result.cases) {
    const parts = [
      `${c.target.padEnd(11)} ${c.label.padEnd(22)}`,
      `conns ${formatCount(c.connect.established)}/${formatCount(c.connections)}`,
      `${formatCount(c.connect.perSecond)} conn/s (${c.connect.serverCpuUsPerConnect.toFixed(0)} µs cpu)`,
      `rss/conn ${formatBytes(c.memory.serverRssPerConnectionBytes)}`,
    ];
    if (c.delivery !== undefined) {
      const d = c.delivery;
      parts.push(`${formatCount(d.perSecond)} deliv/s`, `${d.serverCpuUsPerDelivery.toFixed(2)} µs cpu/deliv (+${d.infraCpuUsPerDelivery.toFixed(2)} broker/redis)`,
        `p50 ${formatMicros(d.latency.p50)} p99 ${formatMicros(d.latency.p99)} p99.9 ${formatMicros(d.latency.p999)}`,
        `lost ${d.lost} dup ${d.duplicates}${d.foreign > 0 ? ` FOREIGN ${d.foreign}` : ''}`);
    }
    if (c.memory.serverRssDriftBytes !== undefined && result.scenario === 'soak') parts.push(`rss drift ${formatBytes(c.memory.serverRssDriftBytes)}`);
    if (c.reconnect !== undefined) parts.push(`all back ${c.reconnect.allBackMs === undefined ? 'NO' : `${c.reconnect.allBackMs} ms`}`);
    parts.push(`server cpu ${c.serverCpuPercent.toFixed(0)}% client cpu ${c.clientCpuPercent.toFixed(0)}%`);
    lines.push(`  ${parts.join(' | ')}`);
  }
  if (result.comparisons.length > 0) {
    lines.push('ours / baseline:');
    for (const c of result.comparisons) lines.push(`  ${c.label.padEnd(22)} ${c.metric.padEnd(32)} vs ${c.baseline.padEnd(11)} ${formatRatio(c.ratio)}`);
  }
  if (result.targetsChecked.length > 0) {
    lines.push('targets:');
    for (const g of result.targetsChecked) {
      const verdict = g.met === undefined ? ' n/a ' : g.indicative === true ? verdictText(g) : g.met ? ' met ' : 'MISSED';
      lines.push(`  [${verdict}] ${g.name}: ${g.value} (goal ${g.target})`);
    }
    if (result.targetsChecked.some((g) => g.indicative === true && g.met !== undefined)) lines.push(`  ${INDICATIVE_NOTE}`);
  }
  return lines.join('\n');
}
