import type { FuzzReport } from './run-fuzz.js';

const tally = (counts: ReadonlyMap<string, number>): string =>
  [...counts].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([k, v]) => `${k}: ${v}`).join(', ');

/** The counts table and every distinct violation with its (shrunk) input and how to replay it. */
export function formatReport(report: FuzzReport): string {
  const { frames, http, broker, watcher } = report;
  const rows: Array<[string, string, string]> = [
    ['WebSocket frames sent', String(frames.frames), `${frames.batches} batches on ${frames.connections} connections; ${frames.events} events and notices received`],
    ['  connection ends', '', tally(frames.closes)],
    ['HTTP requests sent', String(http.requests), `${http.cases} cases: ${tally(http.byLabel)}`],
    ['  by status', '', tally(http.byStatus)],
    ['broker messages published', String(broker.published), `${tally(broker.byLabel)}; ${broker.unpublishable} refused by amqplib, ${broker.skipped} redrawn (named the watcher), ${broker.reconnects} reconnects`],
    ['watcher events', `${watcher.received}/${watcher.published}`, `received/published through RabbitMQ; slowest ${watcher.maxLagMs} ms`],
    ['invariant violations', String(report.totalViolations), `${report.violations.length} distinct`],
  ];
  const width = Math.max(...rows.map(([a]) => a.length));
  const countWidth = Math.max(...rows.map(([, b]) => b.length));
  const lines = [
    `live fuzz: seed ${report.seed}, ${(report.durationMs / 1_000).toFixed(1)} s${report.complete ? '' : ' (time limit reached before every count)'}`,
    ...rows.map(([a, b, c]) => `${a.padEnd(width)}  ${b.padStart(countWidth)}  ${c}`),
  ];
  for (const [i, record] of report.violations.entries()) {
    const origin = record.first.origin;
    lines.push('', `#${i + 1} ${record.first.key}  (×${record.count})`, `  ${record.first.detail}`);
    if (record.minimal !== undefined) lines.push(`  minimal input: ${record.minimal}`);
    else if (record.first.input !== undefined) lines.push(`  input: ${record.first.input}`);
    if (origin !== undefined) lines.push(`  replay: npm run fuzz -- --replay ${origin.stream}:${origin.seed}   (run seed ${report.seed}, ${origin.stream} case #${origin.index})`);
  }
  return lines.join('\n');
}
