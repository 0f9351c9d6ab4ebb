import { INDICATIVE_NOTE, verdictText } from './goals.js';
import { formatBytes, formatCount, formatMicros, formatRatio } from './format.js';
import type { RunResult } from './result.js';

/** Markdown tables of a run, for BENCHMARKS.md. */
export function markdownSummary(result: RunResult, files?: { json: string; html: string }): string {
  const lines: string[] = [];
  lines.push(`### ${result.scenario}`, '', `\`${result.command}\`${files === undefined ? '' : ` → \`${files.json}\``}`, '');
  lines.push('| target | case | conns | connects/s | µs CPU/connect | RSS/conn | deliveries/s | µs CPU/delivery (server + infra) | p50 | p99 | p99.9 | lost | dup | server CPU | client CPU |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const c of result.cases) {
    const d = c.delivery;
    lines.push(`| ${c.target} | ${c.label} | ${formatCount(c.connect.established)}/${formatCount(c.connections)} | ${formatCount(c.connect.perSecond)} | ${c.connect.serverCpuUsPerConnect.toFixed(0)} | ${formatBytes(c.memory.serverRssPerConnectionBytes)} | `
      + `${d === undefined ? '–' : formatCount(d.perSecond)} | ${d === undefined ? '–' : `${d.serverCpuUsPerDelivery.toFixed(2)} + ${d.infraCpuUsPerDelivery.toFixed(2)}`} | ${d === undefined ? '–' : formatMicros(d.latency.p50)} | ${d === undefined ? '–' : formatMicros(d.latency.p99)} | `
      + `${d === undefined ? '–' : formatMicros(d.latency.p999)} | ${d === undefined ? '–' : d.lost} | ${d === undefined ? '–' : d.duplicates} | ${c.serverCpuPercent.toFixed(0)}% | ${c.clientCpuPercent.toFixed(0)}% |`);
  }
  if (result.comparisons.length > 0) {
    lines.push('', '| case | metric | vs | ours / baseline |', '| --- | --- | --- | ---: |');
    for (const c of result.comparisons) lines.push(`| ${c.label} | ${c.metric} | ${c.baseline} | ${formatRatio(c.ratio)} |`);
  }
  if (result.targetsChecked.length > 0) {
    lines.push('', '| target | goal | measured | verdict |', '| --- | --- | --- | --- |');
    for (const g of result.targetsChecked) lines.push(`| ${g.name} | ${g.target} | ${g.value} | ${g.met === false && g.indicative !== true ? '**missed**' : verdictText(g)} |`);
    if (result.targetsChecked.some((g) => g.indicative === true && g.met !== undefined)) lines.push('', `*${INDICATIVE_NOTE}.*`);
  }
  const notes = result.cases.flatMap((c) => c.notes.map((n) => `- ${c.target} ${c.label}: ${n}`));
  if (notes.length > 0) lines.push('', ...notes);
  lines.push('');
  return lines.join('\n');
}
