import { describe, expect, it } from 'vitest';
import type { CaseResult } from './report/result.js';
import { smokeRun } from './testing/smoke-run.js';

/** No connection ended during the run, neither with a close code nor without a close frame (1006). */
function expectNoEnds(c: CaseResult): void {
  expect(c.closes, `${c.target} ${c.label}: ${c.notes.join('; ')}`).toEqual({});
  expect(c.openAtEnd).toBe(c.connections);
}

/**
 * A short run of every scenario, as the CLI does it, with small numbers. The runs mostly wait on
 * their child processes, so they run concurrently to keep the wall time down.
 */
describe.concurrent('scenarios (smoke runs)', () => {
  it('idle: holds every connection and reports the server memory per connection', async () => {
    const { result, html } = await smokeRun(['idle', '--connections', '300', '--hold-ms', '500', '--targets', 'orgcast']);
    const [c] = result.cases;
    expect(result.cases).toHaveLength(1);
    expect(c!.connect).toMatchObject({ requested: 300, established: 300, failed: 0 });
    expectNoEnds(c!);
    expect(c!.memory.serverRssLoadedBytes).toBeGreaterThan(c!.memory.serverRssBaselineBytes * 0.5);
    expect(Number.isFinite(c!.memory.serverRssPerConnectionBytes)).toBe(true);
    expect(c!.delivery).toBeUndefined();
    expect(result.targetsChecked.map((g) => g.name)).toContain('RSS per idle connection');
    expect(html).toContain('Server RSS');
  }, 60_000);

  it('connect: connects with HS256 and ES256 tokens and measures connects per second', async () => {
    const { result } = await smokeRun(['connect', '--connections', '200', '--targets', 'orgcast', '--concurrency', '50']);
    expect(result.cases.map((c) => c.label)).toEqual(['HS256', 'ES256']);
    for (const c of result.cases) {
      expect(c.connect.established, c.label).toBe(200);
      expect(c.connect.failed, c.label).toBe(0);
      expect(c.connect.perSecond, c.label).toBeGreaterThan(0);
      expect(c.connect.latency.count, c.label).toBe(200);
      expect(c.connect.latency.p50, c.label).toBeLessThanOrEqual(c.connect.latency.p99);
      expect(c.connect.refusals, c.label).toEqual({});
    }
    expect(result.targetsChecked.map((g) => g.name)).toEqual(['HS256 connects per second per core']);
  }, 60_000);

  it('fanout: delivers every event exactly once on orgcast and both baselines, and compares them', async () => {
    const { result, html } = await smokeRun(['fanout', '--connections', '200', '--members', '20', '--duration', '2', '--deliveries-per-second', '2000']);
    expect(result.cases.map((c) => c.target)).toEqual(['orgcast', 'socketio', 'uws-ceiling']);
    for (const c of result.cases) {
      const d = c.delivery!;
      expect(c.connect.established, c.target).toBe(200);
      expect(d.published, c.target).toBeGreaterThan(0);
      // 10 organizations of 20: every event reaches 20 clients (those still connected).
      expectNoEnds(c);
      expect(d.expected, c.target).toBeLessThanOrEqual(d.published * 20);
      expect(d.expected, c.target).toBeGreaterThanOrEqual(d.published * 20 * 0.98);
      expect(d.received, `${c.target}: ${c.notes.join('\n')}`).toBe(d.expected);
      expect([d.lost, d.duplicates, d.foreign], c.target).toEqual([0, 0, 0]);
      expect(d.latency.count, c.target).toBe(d.received);
      expect(d.serverCpuUsPerDelivery, c.target).toBeGreaterThan(0);
      expect(c.timeline.length, c.target).toBeGreaterThan(2);
    }
    const baselines = new Set(result.comparisons.filter((x) => x.metric === 'server CPU µs per delivery').map((x) => x.baseline));
    expect(baselines).toEqual(new Set(['socketio', 'uws-ceiling']));
    expect(html).toContain('<svg');
    expect(html).toContain('Deliveries per second');
  }, 90_000);

  it('latency: reports ordered percentiles over every delivery', async () => {
    const { result, html } = await smokeRun(['latency', '--connections', '200', '--members', '50', '--duration', '2', '--deliveries-per-second', '2500', '--targets', 'orgcast']);
    const d = result.cases[0]!.delivery!;
    expect(d.received).toBe(d.expected);
    expect(d.lost).toBe(0);
    expect(d.latency.count).toBe(d.received);
    expect(d.latency.min).toBeGreaterThan(0);
    const { p50, p90, p99, p999, max } = d.latency;
    expect([p50 <= p90, p90 <= p99, p99 <= p999, p999 <= max]).toEqual([true, true, true, true]);
    expect(d.distribution.reduce((sum, [, , n]) => sum + n, 0)).toBe(d.received);
    expect(html).toContain('Latency distribution');
  }, 60_000);

  it('soak: keeps connections alive through server heartbeat timeouts with client heartbeats', async () => {
    // The server closes (4001) anything silent for 3 s; the run lasts longer than that.
    const { result } = await smokeRun([
      'soak', '--connections', '200', '--members', '10', '--duration', '5', '--rate', '20', '--heartbeat-ms', '500', '--targets', 'orgcast',
      '--gateway-env', 'HEARTBEAT_INTERVAL_MS=1000', '--gateway-env', 'HEARTBEAT_TIMEOUT_MS=3000',
    ]);
    const c = result.cases[0]!;
    expectNoEnds(c);
    expect(c.delivery!.lost).toBe(0);
    expect(c.delivery!.received).toBe(c.delivery!.expected);
    expect(typeof c.memory.serverRssDriftBytes).toBe('number');
  }, 60_000);

  it('storm: brings every client of a killed pod back through nginx and loses no event', async () => {
    const { result } = await smokeRun([
      'storm', '--pods', '2', '--connections', '200', '--members', '10', '--rate', '20', '--duration', '6', '--kill-after-ms', '2500',
    ]);
    const c = result.cases[0]!;
    const r = c.reconnect!;
    expect(r.droppedConnections).toBeGreaterThan(0);
    expect(r.allBackMs).toBeDefined();
    expect(r.reconnectLatency.count).toBeGreaterThanOrEqual(r.droppedConnections);
    expect(c.openAtEnd).toBe(200);
    expect(c.delivery!.lost, c.notes.join('\n')).toBe(0);
    // Exactly once.
    const d = c.delivery!;
    expect(d.duplicates, JSON.stringify(d.duplicateSamples)).toBe(0);
    expect(d.received).toBe(d.expected);
  }, 90_000);
});
