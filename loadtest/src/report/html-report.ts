import { formatBytes, formatCount, formatMicros, formatRatio } from './format.js';
import { INDICATIVE_NOTE, verdictText } from './goals.js';
import type { CaseResult, RunResult } from './result.js';
import { escapeXml, lineChart, type Series } from './svg.js';

const STYLE = `body{font-family:system-ui,sans-serif;margin:24px;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;font-size:13px}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.met{color:#17803d}.missed{color:#b42318}.indicative{color:#8a6d00}
.charts{display:grid;grid-template-columns:1fr;gap:16px}.charts svg{width:100%;height:auto;display:block}code{background:#f5f5f5;padding:1px 4px}`;

function row(cells: readonly string[], header = false): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
}

function caseName(c: CaseResult): string {
  return `${c.target} · ${c.label}`;
}

function summaryTable(cases: readonly CaseResult[]): string {
  const head = row(['case', 'conns', 'connects/s', 'µs CPU/connect', 'RSS/conn', 'deliv/s', 'µs CPU/deliv', 'µs infra/deliv', 'p50', 'p99', 'p99.9', 'lost', 'dup', 'server CPU', 'client CPU', 'lag p99'], true);
  const body = cases.map((c) => row([
    escapeXml(caseName(c)),
    `${formatCount(c.connect.established)}/${formatCount(c.connections)}`,
    formatCount(c.connect.perSecond),
    c.connect.serverCpuUsPerConnect.toFixed(0),
    formatBytes(c.memory.serverRssPerConnectionBytes),
    c.delivery === undefined ? '–' : formatCount(c.delivery.perSecond),
    c.delivery === undefined ? '–' : c.delivery.serverCpuUsPerDelivery.toFixed(2),
    c.delivery === undefined ? '–' : c.delivery.infraCpuUsPerDelivery.toFixed(2),
    c.delivery === undefined ? '–' : formatMicros(c.delivery.latency.p50),
    c.delivery === undefined ? '–' : formatMicros(c.delivery.latency.p99),
    c.delivery === undefined ? '–' : formatMicros(c.delivery.latency.p999),
    c.delivery === undefined ? '–' : formatCount(c.delivery.lost),
    c.delivery === undefined ? '–' : formatCount(c.delivery.duplicates),
    `${c.serverCpuPercent.toFixed(0)}%`,
    `${c.clientCpuPercent.toFixed(0)}%`,
    c.serverMaxLagMs === undefined ? '–' : `${c.serverMaxLagMs.toFixed(1)} ms`,
  ])).join('');
  return `<table>${head}${body}</table>`;
}

function charts(cases: readonly CaseResult[]): string {
  const byLabel = new Map<string, CaseResult[]>();
  for (const c of cases) byLabel.set(c.label, [...(byLabel.get(c.label) ?? []), c]);
  const sections: string[] = [];
  for (const [label, group] of byLabel) {
    // Cumulative: the share of deliveries at or below each latency (smooth, and percentiles read off directly).
    const latency: Series[] = group.filter((c) => c.delivery !== undefined).map((c) => {
      const total = c.delivery!.distribution.reduce((s, [, , n]) => s + n, 0) || 1;
      let seen = 0;
      return { name: c.target, points: c.delivery!.distribution.map(([, hi, n]) => {
        seen += n;
        return [Math.max(1, hi), (100 * seen) / total] as const;
      }) };
    });
    const deliveries: Series[] = group.map((c) => ({ name: c.target, points: c.timeline.map((p) => [p.tMs / 1000, p.deliveriesPerSecond] as const) }));
    const rss: Series[] = group.map((c) => ({ name: c.target, points: c.timeline.map((p) => [p.tMs / 1000, p.serverRssBytes / 1024 ** 2] as const) }));
    const open: Series[] = group.map((c) => ({ name: c.target, points: c.timeline.map((p) => [p.tMs / 1000, p.open] as const) }));
    const cpu: Series[] = group.flatMap((c) => [
      { name: `${c.target} server`, points: c.timeline.map((p) => [p.tMs / 1000, p.serverCpuPercent] as const) },
      { name: `${c.target} clients`, points: c.timeline.map((p) => [p.tMs / 1000, p.clientCpuPercent] as const) },
    ]);
    const parts = [
      latency.length > 0 ? lineChart(latency, { title: 'Latency distribution (publish → receive), cumulative', xLabel: 'latency (log scale)', yLabel: '% of deliveries ≤ latency', logX: true, yMax: 100, formatX: formatMicros, formatY: (v) => `${v.toFixed(0)}%` }) : '',
      group.some((c) => c.delivery !== undefined) ? lineChart(deliveries, { title: 'Deliveries per second', xLabel: 'seconds', yLabel: 'deliveries/s', formatY: formatCount }) : '',
      lineChart(rss, { title: 'Server RSS', xLabel: 'seconds', yLabel: 'MiB', formatY: (v) => v.toFixed(0) }),
      lineChart(open, { title: 'Open connections', xLabel: 'seconds', yLabel: 'connections', formatY: formatCount }),
      lineChart(cpu, { title: 'CPU (100% = one core)', xLabel: 'seconds', yLabel: '%', formatY: (v) => v.toFixed(0) }),
    ];
    sections.push(`<h3>${escapeXml(label)}</h3><div class="charts">${parts.join('')}</div>`);
  }
  return sections.join('');
}

/** Within 3 % counts as the same. */
function verdict(ratio: number, lowerIsBetter: boolean): string {
  if (Math.abs(ratio - 1) <= 0.03) return '(same)';
  return (lowerIsBetter ? ratio < 1 : ratio > 1) ? '<span class="met">(better)</span>' : '<span class="missed">(worse)</span>';
}

/** A self-contained HTML page (inline CSS and SVG, no script) that opens from disk. */
export function renderHtmlReport(result: RunResult): string {
  const m = result.machine;
  const goals = result.targetsChecked.length === 0 ? '<p>No issue target is exercised by this scenario at this size.</p>'
    : `<table>${row(['target', 'goal', 'measured', 'verdict'], true)}${result.targetsChecked.map((g) => row([
      escapeXml(g.name), escapeXml(g.target), escapeXml(g.value),
      g.met === undefined ? 'not exercised' : `<span class="${g.indicative === true ? 'indicative' : g.met ? 'met' : 'missed'}">${verdictText(g)}</span>`,
    ])).join('')}</table>${result.targetsChecked.some((g) => g.indicative === true && g.met !== undefined) ? `<p class="indicative">${escapeXml(INDICATIVE_NOTE)}.</p>` : ''}`;
  const comparisons = result.comparisons.length === 0 ? '<p>No baseline in this run.</p>'
    : `<table>${row(['case', 'metric', 'baseline', 'orgcast', 'baseline value', 'ours / baseline'], true)}${result.comparisons.map((c) => row([
      escapeXml(c.label), escapeXml(c.metric), escapeXml(c.baseline), c.ours.toFixed(2), c.theirs.toFixed(2),
      `${formatRatio(c.ratio)} ${verdict(c.ratio, c.lowerIsBetter)}`,
    ])).join('')}</table>`;
  const notes = result.cases.flatMap((c) => c.notes.map((n) => `<li>${escapeXml(caseName(c))}: ${escapeXml(n)}</li>`));
  return `<!doctype html><html><head><meta charset="utf-8"><title>orgcast load test: ${escapeXml(result.scenario)}</title><style>${STYLE}</style></head><body>
<h1>orgcast load test: ${escapeXml(result.scenario)}</h1>
<p>Started ${escapeXml(result.startedAt)}, took ${(result.durationMs / 1000).toFixed(1)} s. Command: <code>${escapeXml(result.command)}</code></p>
<p>Machine: ${m.cpus} × ${escapeXml(m.cpuModel)}, ${formatBytes(m.memoryBytes)} RAM, Node ${escapeXml(m.node)}, ${escapeXml(m.platform)} ${escapeXml(m.kernel)}. Servers, clients, RabbitMQ and Redis share this machine: read server and client CPU together.</p>
<h2>Targets</h2>${goals}
<h2>Ours / baseline, pair by pair</h2>${comparisons}
<h2>Cases</h2>${summaryTable(result.cases)}
${notes.length > 0 ? `<h2>Notes</h2><ul>${notes.join('')}</ul>` : ''}
<h2>Plots</h2>${charts(result.cases)}
</body></html>
`;
}
