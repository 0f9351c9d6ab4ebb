import type { DuplicateSample } from '../client/worker-messages.js';
import type { HistogramSummary } from '../metrics/histogram.js';
import type { TargetKind } from '../targets/target.js';

/** One point of a run's timeline (one per second). */
export interface TimelinePoint {
  /** Milliseconds since the run started. */
  readonly tMs: number;
  readonly phase: string;
  readonly open: number;
  readonly deliveriesPerSecond: number;
  readonly p99Us: number;
  readonly serverRssBytes: number;
  readonly serverCpuPercent: number;
  readonly clientCpuPercent: number;
  readonly serverLagP99Ms?: number;
}

export interface ConnectResult {
  readonly requested: number;
  readonly established: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly perSecond: number;
  /** TCP connect → established, µs. */
  readonly latency: HistogramSummary;
  readonly refusals: Record<string, number>;
  /** Server CPU per established connection during the connect phase. */
  readonly serverCpuUsPerConnect: number;
}

export interface DeliveryResult {
  readonly published: number;
  readonly publishElapsedMs: number;
  readonly publishedPerSecond: number;
  readonly expected: number;
  readonly received: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly foreign: number;
  readonly perSecond: number;
  /** Publish → receive, µs. */
  readonly latency: HistogramSummary;
  /** Non-empty histogram buckets [from µs, to µs, count] for the distribution plot. */
  readonly distribution: Array<[number, number, number]>;
  /** Server CPU over the publish window divided by the deliveries in it. */
  readonly serverCpuUsPerDelivery: number;
  /** Broker + Redis CPU over the window per delivery (shared infrastructure). */
  readonly infraCpuUsPerDelivery: number;
  readonly clientCpuUsPerDelivery: number;
  /** The first duplicates seen (up to 10 per client process), for diagnosis. */
  readonly duplicateSamples: readonly DuplicateSample[];
}

export interface MemoryResult {
  readonly serverRssBaselineBytes: number;
  readonly serverRssLoadedBytes: number;
  /** (loaded − baseline) / established connections. */
  readonly serverRssPerConnectionBytes: number;
  readonly clientRssPerConnectionBytes: number;
  /** RSS change from the end of the settle to the end of the hold/publish phase. */
  readonly serverRssDriftBytes?: number;
}

export interface ReconnectResult {
  readonly killedPod: number;
  readonly droppedConnections: number;
  /** Kill → every client established again, ms (undefined if not all came back). */
  readonly allBackMs: number | undefined;
  readonly reconnectLatency: HistogramSummary;
}

export interface CaseResult {
  /** e.g. "members=100" or "HS256". */
  readonly label: string;
  readonly target: TargetKind;
  readonly pods: number;
  readonly connections: number;
  readonly membersPerOrg: number;
  readonly orgsPerUser: number;
  readonly connect: ConnectResult;
  readonly memory: MemoryResult;
  readonly delivery?: DeliveryResult;
  readonly reconnect?: ReconnectResult;
  /** Connections still open when the case ended, and the close codes seen by clients (cumulative). */
  readonly openAtEnd: number;
  readonly closes: Record<string, number>;
  /** Client socket errors by code over the case. */
  readonly socketErrors: Record<string, number>;
  readonly serverMaxLagMs: number | undefined;
  readonly serverCpuPercent: number;
  readonly clientCpuPercent: number;
  readonly clientProcesses: number;
  readonly timeline: TimelinePoint[];
  readonly notes: string[];
}

export interface Comparison {
  readonly label: string;
  readonly metric: string;
  readonly baseline: TargetKind;
  readonly ours: number;
  readonly theirs: number;
  /** ours / theirs. */
  readonly ratio: number;
  /** Whether lower is better for this metric. */
  readonly lowerIsBetter: boolean;
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly node: string;
  readonly platform: string;
  readonly kernel: string;
}

export interface RunResult {
  readonly scenario: string;
  readonly command: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly machine: MachineInfo;
  readonly options: Record<string, unknown>;
  readonly cases: CaseResult[];
  readonly comparisons: Comparison[];
  /** `indicative`: the run was below the full size the target is set for (report/goals.ts FULL_SIZE). */
  readonly targetsChecked: Array<{ readonly name: string; readonly target: string; readonly value: string; readonly met: boolean | undefined; readonly indicative?: boolean }>;
}
