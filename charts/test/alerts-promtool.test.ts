/**
 * [promtool] The chart's alerts, checked and unit-tested by promtool (Debian package
 * "prometheus"). Fails, never skips, when promtool is missing.
 */
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { findObject, renderChart } from './support/helm.js';
import { promtool } from './support/promtool.js';

const UNIT_TESTS = join(import.meta.dirname, 'alerts.promtool.yaml');

interface Rule { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }
interface UnitTests { rule_files: string[]; tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] }

describe('[promtool] PrometheusRule', () => {
  let directory: string;
  let rules: Rule[];

  beforeAll(async () => {
    // The unit tests expect job="orgcast-headless",namespace="default".
    const objects = await renderChart({ namespace: 'default', set: { 'metrics.prometheusRule.enabled': 'true' } });
    const spec = findObject(objects, 'PrometheusRule').spec as { groups: { name: string; rules: Rule[] }[] };
    rules = spec.groups.flatMap((g) => g.rules);
    directory = await mkdtemp(join(tmpdir(), 'orgcast-promtool-'));
    await writeFile(join(directory, 'rules.yaml'), stringify({ groups: spec.groups }));
    await copyFile(UNIT_TESTS, join(directory, 'alerts.promtool.yaml'));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('covers the alerts the operations guide promises', () => {
    // The table in docs/operations.md, in the chart's order: neither can drift from the other.
    const guide = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const documented = [...guide.matchAll(/^\| (Orgcast[A-Za-z]+) \|/gm)].map((m) => m[1]);
    expect(documented).toContain('OrgcastLateRemovals');
    expect(rules.map((r) => r.alert)).toEqual(documented);
    for (const alert of documented) expect(guide, `runbook section for ${alert}`).toContain(`### ${alert}\n`);
    for (const rule of rules) {
      expect(['critical', 'warning']).toContain(rule.labels.severity);
      expect(Object.keys(rule.annotations).sort(), rule.alert).toEqual(['description', 'runbook_url', 'summary']);
    }
  });

  it('passes promtool check rules', async () => {
    const result = await promtool(['check', 'rules', 'rules.yaml'], directory);
    expect(result.output).toContain(`SUCCESS: ${String(rules.length)} rules found`);
    expect(result.code).toBe(0);
  });

  it('has a promtool unit test in which each alert fires', async () => {
    const tests = parse(await readFile(UNIT_TESTS, 'utf8')) as UnitTests;
    expect(tests.rule_files).toEqual(['rules.yaml']);
    const firing = new Set(tests.tests.flatMap((t) => t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname));
    expect(rules.map((r) => r.alert).filter((alert) => !firing.has(alert))).toEqual([]);
    const quiet = new Set(tests.tests.flatMap((t) => t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname));
    expect(quiet.size).toBeGreaterThanOrEqual(rules.length - 2);
  });

  it('passes promtool test rules', async () => {
    const result = await promtool(['test', 'rules', 'alerts.promtool.yaml'], directory);
    expect(result.output).toContain('SUCCESS');
    expect(result.code, result.output).toBe(0);
  });

  it('promtool test rules catches a broken threshold', async () => {
    const broken = rules.map((r) => (r.alert === 'OrgcastConnectionSaturation' ? { ...r, expr: r.expr.replace('> 0.85', '> 0.95') } : r));
    expect(broken).not.toEqual(rules);
    await writeFile(join(directory, 'broken-rules.yaml'), stringify({ groups: [{ name: 'orgcast.alerts', rules: broken }] }));
    const tests = (await readFile(UNIT_TESTS, 'utf8')).replace('  - rules.yaml', '  - broken-rules.yaml');
    await writeFile(join(directory, 'broken.promtool.yaml'), tests);
    const result = await promtool(['test', 'rules', 'broken.promtool.yaml'], directory);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('alertname: OrgcastConnectionSaturation');
  });
});
