import type { SigningKey } from '../auth/jwt-mint.js';
import type { OrgLayoutOptions } from '../layout/org-layout.js';
import type { SparseHistogram } from '../metrics/histogram.js';
import type { DeliveryCounts, LossSample } from './delivery-tracker.js';

/** IPC between the load-test parent and its client processes (child_process.fork, JSON). */

export type ProtocolKind = 'orgcast' | 'socketio' | 'ceiling';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface WorkerConfig {
  readonly workerId: number;
  readonly protocol: ProtocolKind;
  readonly tokenInQuery: boolean;
  readonly layout: OrgLayoutOptions;
  readonly signing: SigningKey;
  readonly tokenTtlSeconds: number;
  readonly targets: readonly Endpoint[];
  /** Which target a user connects to: round-robin by user, or by its first organization (affinity). */
  readonly targetBy: 'user' | 'org';
  /** Global user indexes [from, to) handled by this process. */
  readonly usersFrom: number;
  readonly usersTo: number;
  readonly sourceAddresses: readonly string[];
  readonly connectConcurrency: number;
  /** Upgrades started per second by this process; 0 = as fast as the concurrency allows. */
  readonly connectRatePerSecond: number;
  readonly connectTimeoutMs: number;
  /** Attempts after the first for a connection that never got established. */
  readonly connectRetries: number;
  /** Reconnect (with `resume` for orgcast) when an established connection drops. */
  readonly reconnect: boolean;
  /** Largest random delay before a reconnect. */
  readonly reconnectJitterMs: number;
  /** Keep each connection's last event id per organization (needed for resume). */
  readonly trackIds: boolean;
  /** Application heartbeat period per connection; 0 = none. */
  readonly heartbeatMs: number;
  readonly statsIntervalMs: number;
}

export interface SparseHistogramData {
  readonly buckets: SparseHistogram;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

export type ParentMessage =
  | { readonly type: 'init'; readonly config: WorkerConfig }
  | { readonly type: 'connect' }
  /** Start of the measured phase: resets the latency histogram, fixes the counted connections. */
  | { readonly type: 'mark' }
  | { readonly type: 'verify'; readonly finalSeqs: readonly number[] }
  | { readonly type: 'close' };

export interface WorkerStats {
  readonly type: 'stats';
  readonly workerId: number;
  readonly atMs: number;
  /** Connections currently established. */
  readonly open: number;
  /** Cumulative counters. */
  readonly established: number;
  readonly connectFailures: number;
  readonly refusals: Readonly<Record<string, number>>;
  readonly closes: Readonly<Record<string, number>>;
  /** Socket errors by code (ECONNRESET, ECONNREFUSED, EADDRNOTAVAIL…). */
  readonly socketErrors: Readonly<Record<string, number>>;
  readonly deliveries: number;
  readonly reconnects: number;
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly rssBytes: number;
  /** Latency of the deliveries since the previous stats message. */
  readonly interval: SparseHistogramData;
}

/** One duplicate delivery, kept for diagnosis (the first few per process). */
export interface DuplicateSample {
  readonly user: number;
  readonly org: number;
  readonly seq: number;
  /** Highest sequence the connection had seen for the organization. */
  readonly lastSeq: number;
  readonly eventId: string | undefined;
  /** Whether the connection had reconnected before (a replay after resume). */
  readonly afterReconnect: boolean;
  /** The id of the last event the connection had seen for the organization (when ids are tracked). */
  readonly previousId: string | undefined;
}

/** An established connection that ended (the first few per process). */
export interface CloseSample {
  readonly user: number;
  readonly code: number;
  /** Since the attempt that established it started. */
  readonly openForMs: number;
  readonly stopping: boolean;
}

export interface WorkerVerified {
  readonly type: 'verified';
  readonly workerId: number;
  readonly counts: DeliveryCounts;
  /** Connections counted (established at the mark). */
  readonly counted: number;
  readonly latency: SparseHistogramData;
  readonly connectLatency: SparseHistogramData;
  readonly reconnectLatency: SparseHistogramData;
  readonly duplicateSamples: readonly DuplicateSample[];
  readonly lossSamples: readonly LossSample[];
  readonly closeSamples: readonly CloseSample[];
}

export type WorkerMessage =
  | { readonly type: 'ready'; readonly workerId: number; readonly mintMs: number }
  | { readonly type: 'connect-done'; readonly workerId: number; readonly established: number; readonly failed: number; readonly elapsedMs: number }
  | WorkerStats
  | WorkerVerified
  | { readonly type: 'closed'; readonly workerId: number }
  | { readonly type: 'fatal'; readonly workerId: number; readonly message: string };
