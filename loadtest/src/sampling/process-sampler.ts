import { readProcSample } from './proc-stat.js';

export type ProcessRole = 'server' | 'client' | 'driver' | 'infra';

export interface WatchedProcess {
  readonly name: string;
  readonly role: ProcessRole;
  readonly pid: number;
  /** Prometheus text endpoint with a `…nodejs_eventloop_lag_p99_seconds` gauge, if any. */
  readonly metricsUrl?: string;
}

export interface ProcessPoint {
  readonly atMs: number;
  readonly cpuUs: number;
  readonly rssBytes: number;
  /** Event-loop lag p99 (ms) scraped at this point, when the process exposes it. */
  readonly lagP99Ms?: number;
}

export interface ProcessSeries {
  readonly name: string;
  readonly role: ProcessRole;
  readonly pid: number;
  readonly points: ProcessPoint[];
}

/** Readings of every watched process at one instant. */
export type Reading = Map<string, { readonly role: ProcessRole; readonly cpuUs: number; readonly rssBytes: number }>;

const LAG_PATTERN = /nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})?\s+([0-9.eE+-]+)/;
const SCRAPE_TIMEOUT_MS = 800;

/**
 * Samples CPU time and RSS of the servers, the client processes, the driver and the broker/Redis
 * from /proc at a fixed interval, and scrapes each server's event-loop lag. The watched set is a
 * function so restarted pods (new pids) are followed.
 */
export class ProcessSampler {
  readonly series = new Map<string, ProcessSeries>();
  private timer: NodeJS.Timeout | undefined;
  private scraping = new Set<string>();

  constructor(private readonly watched: () => readonly WatchedProcess[], private readonly intervalMs = 1_000) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.tick();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Current CPU and RSS of every watched process (not recorded in the series). */
  readNow(): Reading {
    const out: Reading = new Map();
    for (const p of this.watched()) {
      const sample = readProcSample(p.pid);
      if (sample !== undefined) out.set(p.name, { role: p.role, ...sample });
    }
    return out;
  }

  /** The largest lag p99 (ms) scraped from `name` between two instants. */
  maxLagMs(name: string, fromMs: number, toMs: number): number | undefined {
    let max: number | undefined;
    for (const point of this.series.get(name)?.points ?? []) {
      if (point.atMs < fromMs || point.atMs > toMs || point.lagP99Ms === undefined) continue;
      max = Math.max(max ?? 0, point.lagP99Ms);
    }
    return max;
  }

  private tick(): void {
    const atMs = Date.now();
    for (const p of this.watched()) {
      const sample = readProcSample(p.pid);
      if (sample === undefined) continue;
      const key = p.name;
      let series = this.series.get(key);
      if (series === undefined || series.pid !== p.pid) {
        const previous = series?.points ?? [];
        series = { name: p.name, role: p.role, pid: p.pid, points: previous };
        this.series.set(key, series);
      }
      const point: { atMs: number; cpuUs: number; rssBytes: number; lagP99Ms?: number } = { atMs, ...sample };
      series.points.push(point);
      if (p.metricsUrl !== undefined && !this.scraping.has(key)) {
        this.scraping.add(key);
        void scrapeLagMs(p.metricsUrl).then(
          (lag) => {
            if (lag !== undefined) point.lagP99Ms = lag;
            this.scraping.delete(key);
          },
          // A missed scrape leaves a gap in the lag series; the CPU and RSS points stand.
          () => this.scraping.delete(key),
        );
      }
    }
  }
}

/** The event-loop lag p99 in ms from a Prometheus text endpoint, or undefined. */
export async function scrapeLagMs(url: string): Promise<number | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  if (!response.ok) return undefined;
  const match = LAG_PATTERN.exec(await response.text());
  return match === null ? undefined : Number(match[1]) * 1000;
}

/** CPU (µs) used between two readings, summed over the processes of a role (or one name). */
export function cpuBetween(before: Reading, after: Reading, select: (name: string, role: ProcessRole) => boolean): number {
  let total = 0;
  for (const [name, a] of after) {
    if (!select(name, a.role)) continue;
    const b = before.get(name);
    // A process born in between (restarted pod) counts from zero.
    total += a.cpuUs - (b !== undefined && b.cpuUs <= a.cpuUs ? b.cpuUs : 0);
  }
  return total;
}

export function rssOf(reading: Reading, select: (name: string, role: ProcessRole) => boolean): number {
  let total = 0;
  for (const [name, r] of reading) if (select(name, r.role)) total += r.rssBytes;
  return total;
}
