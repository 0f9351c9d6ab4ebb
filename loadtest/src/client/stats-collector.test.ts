import { describe, expect, it } from 'vitest';
import { OrgLayout } from '../layout/org-layout.js';
import { Histogram } from '../metrics/histogram.js';
import { DUPLICATE, DeliveryTracker } from './delivery-tracker.js';
import { StatsCollector } from './stats-collector.js';
import type { DuplicateSample, WorkerMessage, WorkerStats, WorkerVerified } from './worker-messages.js';

const layout = new OrgLayout({ users: 20, membersPerOrg: 10, orgsPerUser: 1, prefix: 'p' });
const CPU = { user: 7, system: 3 };

function collector(connections = 2): { stats: StatsCollector; sent: WorkerMessage[] } {
  const sent: WorkerMessage[] = [];
  const users = Array.from({ length: connections }, (_, i) => i);
  return { stats: new StatsCollector(4, connections, new DeliveryTracker(layout, users), (m) => sent.push(m)), sent };
}

function lastStats(sent: WorkerMessage[]): WorkerStats {
  const stats = sent.filter((m): m is WorkerStats => m.type === 'stats');
  return stats.at(-1)!;
}

function duplicateSample(seq: number): DuplicateSample {
  return { user: 0, org: 0, seq, lastSeq: seq, eventId: undefined, afterReconnect: false, previousId: undefined };
}

describe('StatsCollector', () => {
  it('sends connect-done once, when every connection has settled', () => {
    const { stats, sent } = collector(3);
    stats.connectStarted();
    stats.connected(1_500);
    stats.connectFailed();
    expect(sent).toEqual([]);
    stats.connected(2_500);
    expect(sent).toMatchObject([{ type: 'connect-done', workerId: 4, established: 2, failed: 1 }]);
    stats.connectFailed(); // a reconnect that ran out of retries settles again: nothing more is sent
    expect(sent).toHaveLength(1);
  });

  it('counts opens, drops, reconnects, refusals, closes and socket errors', () => {
    const { stats, sent } = collector();
    stats.connected(100);
    stats.connected(100);
    stats.dropped(1, 1012, 0, false);
    stats.reconnected(5_000);
    stats.reconnected(undefined);
    stats.attemptClosed(1006); // ended without a close frame: not a close
    stats.attemptClosed(4003);
    stats.refused('timeout');
    stats.refused('503');
    stats.refused('timeout');
    stats.socketError('ECONNRESET');
    stats.connectFailed();
    stats.sendStats(CPU, 1_234);
    expect(lastStats(sent)).toMatchObject({
      type: 'stats',
      workerId: 4,
      open: 3,
      established: 2,
      connectFailures: 1,
      reconnects: 2,
      refusals: { timeout: 2, '503': 1 },
      closes: { '1012': 1, '4003': 1 },
      socketErrors: { ECONNRESET: 1 },
      cpuUserUs: 7,
      cpuSystemUs: 3,
      rssBytes: 1_234,
    });
  });

  it('reports copies of the counters, not the live objects', () => {
    const { stats, sent } = collector();
    stats.refused('timeout');
    stats.sendStats(CPU, 0);
    stats.refused('timeout');
    expect(lastStats(sent).refusals).toEqual({ timeout: 1 });
  });

  it('keeps the first few close samples', () => {
    const { stats, sent } = collector();
    for (let i = 0; i < 15; i++) stats.dropped(i, 1001, 0, i % 2 === 0);
    stats.sendVerified([], () => false);
    const verified = sent.find((m): m is WorkerVerified => m.type === 'verified')!;
    expect(verified.closeSamples.map((s) => s.user)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(verified.closeSamples[0]).toMatchObject({ code: 1001, stopping: true });
  });

  it('records deliveries through the tracker; the interval histogram starts over with each report', () => {
    const { stats, sent } = collector();
    const org = layout.orgOf(0, 0);
    expect(stats.delivered(0, org, 1, 300)).toBe(0);
    expect(stats.delivered(0, org, 1, 400)).toBe(DUPLICATE);
    expect(stats.lastSeq(0, 0)).toBe(1);
    stats.sendStats(CPU, 0);
    expect(lastStats(sent)).toMatchObject({ deliveries: 2, interval: { count: 2, min: 300, max: 400 } });
    stats.delivered(1, layout.orgOf(1, 0), 1, 500);
    stats.sendStats(CPU, 0);
    expect(lastStats(sent)).toMatchObject({ deliveries: 3, interval: { count: 1, min: 500 } });
  });

  it('verifies counted connections against the final sequences, with the latency since the mark', () => {
    const { stats, sent } = collector();
    const org = layout.orgOf(0, 0);
    stats.connected(1_000);
    stats.reconnected(9_000);
    stats.delivered(0, org, 1, 50);
    stats.mark();
    stats.delivered(0, org, 2, 70);
    stats.delivered(0, org, 3, 90);
    stats.delivered(1, layout.orgOf(1, 0), 1, 80);
    const finalSeqs = new Array<number>(layout.organizationCount).fill(4);
    stats.sendVerified(finalSeqs, (conn) => conn === 0);
    const verified = sent.find((m): m is WorkerVerified => m.type === 'verified')!;
    expect(verified.counted).toBe(1);
    expect(verified.counts).toEqual({ expected: 4, unique: 3, duplicates: 0, foreign: 0, lost: 1 });
    expect(verified.lossSamples).toEqual([{ user: 0, org, expected: 4, received: 3, lastSeq: 3 }]);
    const latency = Histogram.fromSparse(verified.latency);
    expect([latency.count, latency.min, latency.max]).toEqual([3, 70, 90]);
    expect(Histogram.fromSparse(verified.connectLatency).count).toBe(1);
    expect(Histogram.fromSparse(verified.reconnectLatency).max).toBe(9_000);
  });

  it('keeps the first few duplicate samples', () => {
    const { stats, sent } = collector();
    for (let seq = 1; stats.wantsDuplicateSample(); seq++) stats.duplicate(duplicateSample(seq));
    stats.duplicate(duplicateSample(99));
    stats.sendVerified([], () => false);
    const verified = sent.find((m): m is WorkerVerified => m.type === 'verified')!;
    expect(verified.duplicateSamples.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
