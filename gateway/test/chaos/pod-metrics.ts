/** The gateway counters the chaos report shows: what the pods did about the faults. */
export const REPORTED_METRICS = [
  'orgcast_pod_queue_overflow_total',
  'orgcast_feed_repairs_total',
  'orgcast_feed_repaired_frames_total',
  'orgcast_events_duplicates_dropped_total',
  'orgcast_events_dead_lettered_total',
  'orgcast_events_sequenced_total',
  'orgcast_catch_ups_total',
  'orgcast_resumes_total',
  'orgcast_handler_errors_total',
  'orgcast_broker_reconnects_total',
] as const;

/** `name{labels}` → value, for the reported metrics. */
export type MetricSample = ReadonlyMap<string, number>;

export function parseMetrics(text: string): MetricSample {
  const sample = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const space = line.lastIndexOf(' ');
    const series = line.slice(0, space);
    const name = series.split('{')[0]!;
    if (!(REPORTED_METRICS as readonly string[]).includes(name)) continue;
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) sample.set(series, value);
  }
  return sample;
}

/** The sum of a counter's series in a sample whose labels include every one of `labels` (`result="appended"`). */
export function counterValue(sample: MetricSample | undefined, name: string, ...labels: string[]): number {
  let total = 0;
  for (const [series, value] of sample ?? []) {
    if (series.split('{')[0] === name && labels.every((l) => series.includes(l))) total += value;
  }
  return total;
}

export async function scrape(managementUrl: string): Promise<MetricSample | undefined> {
  try {
    const response = await fetch(`${managementUrl}/metrics`, { signal: AbortSignal.timeout(2_000) });
    return response.status === 200 ? parseMetrics(await response.text()) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The last sample of every pod process (by pid: a pod restarted under the same name is a new
 * process with counters from zero), summed: the cluster's counts over the run.
 */
export class PodMetrics {
  private readonly last = new Map<number, MetricSample>();
  /** When each process last appended to history (its sequencer count grew between two samples). */
  private readonly sequencedAt = new Map<number, number>();

  record(pid: number, sample: MetricSample | undefined): void {
    if (sample === undefined) return;
    const appended = (s: MetricSample | undefined): number => counterValue(s, 'orgcast_events_sequenced_total', 'result="appended"');
    if (appended(sample) > appended(this.last.get(pid))) this.sequencedAt.set(pid, Date.now());
    this.last.set(pid, sample);
  }

  /** Of `pids`, the one that appended most recently: the active sequencer, as far as the samples tell. */
  latestSequencer(pids: readonly number[]): number | undefined {
    let best: number | undefined;
    for (const pid of pids) if ((this.sequencedAt.get(pid) ?? 0) > (best === undefined ? 0 : this.sequencedAt.get(best) ?? 0)) best = pid;
    return best;
  }

  sample(pid: number): MetricSample | undefined {
    return this.last.get(pid);
  }

  totals(): Map<string, number> {
    const totals = new Map<string, number>();
    for (const sample of this.last.values()) {
      for (const [series, value] of sample) {
        const clusterWide = series.replace(/,?pod="[^"]*"/, '').replace('{,', '{').replace('{}', '');
        totals.set(clusterWide, (totals.get(clusterWide) ?? 0) + value);
      }
    }
    return new Map([...totals].filter(([, value]) => value !== 0).sort(([a], [b]) => a.localeCompare(b)));
  }
}
