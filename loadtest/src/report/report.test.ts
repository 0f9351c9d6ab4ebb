import { describe, expect, it } from 'vitest';
import { Histogram } from '../metrics/histogram.js';
import { compareCases } from './compare.js';
import { FULL_SIZE, checkGoals } from './goals.js';
import { renderHtmlReport } from './html-report.js';
import { markdownSummary } from './markdown.js';
import type { CaseResult, RunResult } from './result.js';
import { lineChart, niceTicks } from './svg.js';
import { textSummary } from './text-summary.js';

/** A run at the full size the targets are set for (BENCHMARKS.md's `npm run bench`). */
const FULL_RUN = { durationMs: FULL_SIZE.durationMs };

function fakeCase(target: CaseResult['target'], cpuPerDelivery: number, rssPerConnection: number): CaseResult {
  const h = new Histogram();
  for (let v = 100; v < 5_000; v += 7) h.record(v);
  return {
    label: 'members=100', target, pods: 1, connections: 19_000, membersPerOrg: 100, orgsPerUser: 1,
    connect: { requested: 1_000, established: 1_000, failed: 0, elapsedMs: 500, perSecond: 2_000, latency: h.summary(), refusals: {}, serverCpuUsPerConnect: 100 },
    memory: { serverRssBaselineBytes: 50e6, serverRssLoadedBytes: 52e6, serverRssPerConnectionBytes: rssPerConnection, clientRssPerConnectionBytes: 3_000 },
    delivery: {
      published: 100, publishElapsedMs: 1_000, publishedPerSecond: 100, expected: 100_000, received: 100_000, lost: 0, duplicates: 0, foreign: 0,
      perSecond: 100_000, latency: h.summary(), distribution: h.distribution(), serverCpuUsPerDelivery: cpuPerDelivery, infraCpuUsPerDelivery: 0.5,
      clientCpuUsPerDelivery: 3, duplicateSamples: [],
    },
    openAtEnd: 1_000, closes: {}, socketErrors: {}, serverMaxLagMs: 2, serverCpuPercent: 50, clientCpuPercent: 60, clientProcesses: 1,
    timeline: [0, 1, 2].map((t) => ({ tMs: t * 1000, phase: 'publish', open: 1_000, deliveriesPerSecond: 100_000, p99Us: 900, serverRssBytes: 52e6, serverCpuPercent: 50, clientCpuPercent: 60 })),
    notes: ['a <note> & more'],
  };
}

describe('reports', () => {
  const cases = [fakeCase('orgcast', 0.8, 1_500), fakeCase('socketio', 12, 20_000), fakeCase('uws-ceiling', 0.7, 1_200)];
  const comparisons = compareCases(cases);

  it('compares orgcast with each baseline case of the same label', () => {
    const cpu = comparisons.filter((c) => c.metric === 'server CPU µs per delivery');
    expect(cpu.map((c) => [c.baseline, Number(c.ratio.toFixed(3))])).toEqual([['socketio', 0.067], ['uws-ceiling', 1.143]]);
    expect(comparisons.every((c) => c.label === 'members=100')).toBe(true);
  });

  it('checks the issue targets the run exercised', () => {
    const goals = checkGoals('fanout', cases, comparisons, FULL_RUN);
    expect(goals.map((g) => [g.name, g.met, g.indicative])).toEqual([
      ['server CPU per delivery at fan-out 100', true, false],
      ['CPU per delivery vs Socket.IO', true, false],
      ['CPU per delivery vs bare uWS', true, false],
    ]);
    expect(checkGoals('latency', cases, comparisons, FULL_RUN)[0]!.met).toBe(true);
  });

  it('marks verdicts of a run smaller than the full size as indicative, in every format', () => {
    const smoke = { durationMs: 5_000 };
    const slow = [fakeCase('orgcast', 3, 1_500)];
    const goals = checkGoals('fanout', slow, [], smoke);
    expect(goals.map((g) => [g.met, g.indicative])).toEqual([[false, true]]);
    expect(checkGoals('fanout', slow.map((c) => ({ ...c, connections: FULL_SIZE.connections })), [], FULL_RUN).map((g) => g.indicative)).toEqual([false]);
    const result: RunResult = {
      scenario: 'fanout', command: 'npm run loadtest -- fanout --duration 5', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 5_000,
      machine: { cpus: 2, cpuModel: 'cpu', memoryBytes: 1e9, node: 'v20', platform: 'linux', kernel: '6' },
      options: {}, cases: slow, comparisons: [], targetsChecked: goals,
    };
    const text = textSummary(result);
    expect(text).not.toContain('MISSED');
    expect(text).toContain('[indicative: missed] server CPU per delivery at fan-out 100');
    expect(text).toMatch(/indicative: this run is smaller than the full size/);
    expect(markdownSummary(result)).toContain('| indicative: missed |');
    expect(renderHtmlReport(result)).toContain('indicative: missed');
  });

  it('puts axis ticks on round numbers (percentages up to 100) and the legend outside the plot', () => {
    expect(niceTicks(8_718, 4)).toEqual([0, 2_500, 5_000, 7_500, 10_000]);
    expect(niceTicks(100, 4)).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks(0.37, 4)).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    expect(niceTicks(42, 5)).toEqual([0, 10, 20, 30, 40, 50]);
    const chart = lineChart([{ name: 'orgcast', points: [[0, 10], [1, 104.9]] }, { name: 'socketio', points: [[0, 20], [1, 60]] }], { title: 't', xLabel: 'x', yLabel: '%', yMax: 100, formatY: (v) => `${v}%` });
    const labels = [...chart.matchAll(/<text[^>]*class="y-tick"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(['0%', '25%', '50%', '75%', '100%']);
    expect(chart).toContain('class="legend"');
    expect(chart).toMatch(/viewBox="0 0 \d+ \d+"/);
  });

  it('renders a self-contained page with escaped text and inline charts, and a markdown table', () => {
    const result: RunResult = {
      scenario: 'fanout', command: 'npm run loadtest -- fanout', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1_000,
      machine: { cpus: 2, cpuModel: 'cpu', memoryBytes: 1e9, node: 'v20', platform: 'linux', kernel: '6' },
      options: {}, cases, comparisons, targetsChecked: checkGoals('fanout', cases, comparisons, FULL_RUN),
    };
    const html = renderHtmlReport(result);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|src=|href=/);
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(5);
    expect(html).toContain('a &lt;note&gt; &amp; more');
    const md = markdownSummary(result);
    expect(md).toContain('| orgcast | members=100 |');
    expect(md).toContain('| CPU per delivery vs Socket.IO | ≥ 10× better |');
  });
});
