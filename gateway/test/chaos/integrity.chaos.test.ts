import { describe, expect, it } from 'vitest';
import type { Reception } from './client-log.js';
import { clientRows, formatReport } from './chaos-report.js';
import { runChaos } from './chaos-run.js';
import { FAULT_KINDS } from './fault-plan.js';
import { checkOrganization } from './integrity-checker.js';
import { randomSeed } from './seeded-random.js';

/**
 * The short fault-injection run of `npm test` (`npm run chaos` is the long one): three pods behind
 * nginx, every kind of client, every kind of fault at least once (stop_app included: this file is in
 * the chaos pass, which runs alone), then every client's events against history. CHAOS_SEED=<seed>
 * replays a run's faults and events.
 */
describe('delivery integrity under faults', () => {
  it('no client misses, repeats or reorders an event it was not told about', async () => {
    const seed = process.env.CHAOS_SEED === undefined ? randomSeed() : Number(process.env.CHAOS_SEED);
    const started = Date.now();
    const report = await runChaos({
      seed,
      durationMs: 70_000,
      pods: 3,
      clients: { 'ws-stay': 12, 'ws-churn': 10, 'sdk-ws': 10, 'sdk-poll': 4, poll: 8 },
      organizations: 5,
      eventsPerSecond: 12,
      faultGapMs: [3_000, 5_000],
      settleTimeoutMs: 30_000,
      // Well before the test's own timeout: an aborted run still undoes its faults (a stopped
      // broker app, a paused Redis) and stops its cluster before the test fails.
      signal: AbortSignal.timeout(200_000),
      log: (line) => process.stdout.write(`[chaos ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`),
    });
    process.stdout.write(`${formatReport(report, `CHAOS_SEED=${seed} npx vitest run -c vitest.chaos.config.ts gateway/test/chaos/integrity.chaos.test.ts`)}\n`);

    expect(report.aborted, 'the run finished in time').toBe(false);
    for (const kind of FAULT_KINDS) expect(report.faults.filter((f) => f.kind === kind && f.error === undefined).length, `${kind} ran`).toBeGreaterThan(0);
    const total = clientRows(report).find((r) => r.kind === 'total')!;
    expect(total.checked).toBeGreaterThan(2_000);
    expect(report.publishes.oversized + report.publishes.repeats).toBeGreaterThan(0);

    // The checker sees a loss, a duplicate and a reordering in this very run's data.
    const sample = report.verdicts.find((v) => v.kind === 'ws-stay' && v.checked >= 10 && v.missing.length === 0)!;
    const client = report.clients.find((c) => c.log.name === sample.client)!;
    const events = client.log.receptions(sample.organization).filter((r): r is Extract<Reception, { kind: 'event' }> => r.kind === 'event');
    const [a, b, c, d] = [events[2]!, events[4]!, events[6]!, events[7]!];
    const tampered = client.log.receptions(sample.organization).flatMap((r) => (r === a ? [] : r === b ? [r, r] : r === c ? [d] : r === d ? [c] : [r]));
    const seen = checkOrganization(client.log, sample.organization, tampered, report.histories.get(sample.organization)!, { slackMs: 1_000 });
    expect({ missing: seen.missing, duplicated: seen.duplicated, outOfOrder: seen.outOfOrder }).toEqual({ missing: [a.id], duplicated: [b.id], outOfOrder: [c.id] });

    expect(report.violations).toEqual([]);
  }, 300_000);
});
