import { describe, expect, it } from 'vitest';
import { parseProcSample, pidsByCommand, readProcSample } from './proc-stat.js';

describe('proc sampling', () => {
  it('parses stat fields after a command name with spaces and parentheses', () => {
    const stat = '1234 (node (my) app) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 1000 1000000 5000';
    const sample = parseProcSample(stat, 'Name:\tnode\nVmRSS:\t   51200 kB\nThreads: 11\n');
    expect(sample).toEqual({ cpuUs: 3_000_000, rssBytes: 51_200 * 1024 });
  });

  it('reads this process and reports a gone one as undefined', () => {
    const self = readProcSample(process.pid);
    expect(self?.rssBytes).toBeGreaterThan(1_000_000);
    expect(self?.cpuUs).toBeGreaterThanOrEqual(0);
    expect(readProcSample(2 ** 22 + 1)).toBeUndefined();
  });

  it('finds pids by command name', () => {
    const comms: Record<string, string> = { '1': 'init\n', '20': 'redis-server\n', '30': 'beam.smp\n' };
    expect(pidsByCommand(['redis-server', 'beam.smp'], () => ['1', '20', '30', 'self'], (pid) => comms[pid])).toEqual([20, 30]);
  });
});
