import { CLIENT_KINDS, type ClientCounters } from './client-log.js';
import type { ChaosReport } from './chaos-run.js';
import { FAULT_KINDS } from './fault-plan.js';
import { totalsOf, type VerdictTotals } from './integrity-checker.js';

interface Row extends VerdictTotals, ClientCounters {
  readonly kind: string;
}

/** The rows of the client table: one per client kind, then the total. */
export function clientRows(report: ChaosReport): Row[] {
  const row = (kind: string, filter: (k: string) => boolean): Row => {
    const counters: ClientCounters = { sessions: 0, drops: 0, failedAttempts: 0, chainBreaks: 0, sdkRepairs: 0 };
    for (const client of report.clients) {
      if (!filter(client.log.kind)) continue;
      for (const key of Object.keys(counters) as Array<keyof ClientCounters>) counters[key] += client.log.counters[key];
    }
    return { kind, ...totalsOf(report.verdicts.filter((v) => filter(v.kind))), ...counters };
  };
  return [...CLIENT_KINDS.map((kind) => row(kind, (k) => k === kind)), row('total', () => true)];
}

/** Whether the run found anything: a loss, duplicate, reordering or stray the clients were not told about, or a fault of history itself. */
export function passed(report: ChaosReport): boolean {
  return report.violations.length === 0 && !report.aborted;
}

/** The report as text: the client table, the faults, the publishes, history and what the pods counted. */
export function formatReport(report: ChaosReport, replay: string): string {
  const lines: string[] = [];
  const headers = ['client kind', 'clients', 'sessions', 'drops', 'events checked', 'missing', 'duplicated', 'out of order', 'stray', 'flagged resyncs', 'excused', 'wire gaps', 'sdk repairs'];
  const rows = clientRows(report).map((r) => [r.kind, r.clients, r.sessions, r.drops, r.checked, r.missing, r.duplicated, r.outOfOrder, r.stray + r.mismatched, r.flags, r.excused, r.chainBreaks, r.sdkRepairs].map(String));
  lines.push(table(headers, rows));
  lines.push('');
  const counts = FAULT_KINDS.map((kind) => {
    const of = report.faults.filter((f) => f.kind === kind);
    const failed = of.filter((f) => f.error !== undefined).length;
    return [kind, String(of.length), String(failed)];
  });
  lines.push(table(['fault', 'count', 'failed'], [...counts, ['total', String(report.faults.length), String(report.faults.filter((f) => f.error !== undefined).length)]]));
  lines.push('');
  const p = report.publishes;
  lines.push(`publishes: ${p.attempts} attempts of ${p.withMessageId} bodies with a message id and the rest without; ${p.confirmed} confirmed, ${p.nacked} nacked, ${p.unknown} unknown; ${p.repeats} byte-identical repeats (${p.identicalRepeats} with identical properties too); ${p.oversized} bodies above MAX_EVENT_BYTES`);
  const h = report.history;
  lines.push(`history: ${h.entries} entries; lost ${h.lost.length}, identical copies without message_id merged by a logged redelivery match ${h.merged.length}, duplicated ${h.duplicated.length}, oversized stored ${h.oversizedStored.length}, unexpected ${h.unexpected.length}, prev chain breaks ${h.chainBreaks.length}; publishes of unknown fate: ${h.uncertain.publishes}, of which stored ${h.uncertain.stored}`);
  const d = report.deadLetters;
  lines.push(d === undefined ? 'dead letters: not read' : `dead letters: ${d.read} read; confirmed oversized found ${d.oversizedFound}, missing ${d.oversizedMissing.length}; valid events dead-lettered ${d.validDeadLettered.length}`);
  lines.push(`settle: ${report.settle.settled ? 'settled' : 'NOT settled'} in ${(report.settle.ms / 1000).toFixed(1)} s (${report.settle.detail})`);
  const codes = CLIENT_KINDS.flatMap((kind) => {
    const byCode = new Map<number, number>();
    for (const client of report.clients) if (client.log.kind === kind) for (const [code, n] of client.log.closeCodes) byCode.set(code, (byCode.get(code) ?? 0) + n);
    return byCode.size === 0 ? [] : [`${kind} ${[...byCode].sort(([a], [b]) => a - b).map(([code, n]) => `${code}×${n}`).join(' ')}`];
  });
  lines.push(`close codes of raw WebSocket sessions: ${codes.join('; ') || 'none'}`);
  lines.push(`pod counters: ${[...report.podMetrics].map(([series, value]) => `${series.replace(/^orgcast_/, '')}=${value}`).join(' ') || 'none'}`);
  lines.push(`pod error logs: ${report.podErrors.count}`);
  for (const [message, n] of [...report.podErrors.byMessage].sort(([, a], [, b]) => b - a).slice(0, 10)) lines.push(`  ${n}× ${message}`);
  lines.push('');
  lines.push('faults:');
  for (const f of report.faults) lines.push(`  #${f.index} +${f.startS.toFixed(1)}s ${f.kind} ${f.target} ${f.detail} (${f.durationMs} ms)${f.error === undefined ? '' : ` FAILED: ${f.error}`}`);
  lines.push('');
  if (report.violations.length === 0) {
    lines.push(report.aborted ? 'ABORTED' : 'PASS: no missing, duplicated or reordered event that was not flagged');
  } else {
    lines.push(`FAIL: ${report.violations.length} violations (seed ${report.seed}):`);
    for (const v of report.violations.slice(0, 50)) lines.push(`  ${v}`);
    if (report.violations.length > 50) lines.push(`  … ${report.violations.length - 50} more`);
  }
  lines.push(`replay: ${replay}`);
  return lines.join('\n');
}

function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(headers), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}
