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

  record(pid: number, sample: MetricSample | undefined): void {
    if (sample !== undefined) this.last.set(pid, sample);
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
