import { Histogram } from '../metrics/histogram.js';
import { monotonicMicros } from '../protocol/payload-scan.js';
import type { DeliveryTracker } from './delivery-tracker.js';
import { ABNORMAL_CLOSE } from './virtual-connection.js';
import type { CloseSample, DuplicateSample, WorkerMessage } from './worker-messages.js';

/** Duplicate, close and loss samples kept per process (the first ones). */
const SAMPLES = 10;

/**
 * What a client process counts and reports: connection counters, refusals, closes and socket
 * errors by kind, the latency histograms, the first few samples, and the deliveries (through the
 * tracker). It sends `connect-done` once every connection has settled, `stats` when asked (the
 * interval histogram then starts over) and `verified` at the end. The delivery path only adds to
 * counters and histograms: nothing is allocated per frame.
 */
export class StatsCollector {
  private readonly latency = new Histogram();
  private readonly interval = new Histogram();
  private readonly connectLatency = new Histogram();
  private readonly reconnectLatency = new Histogram();
  private readonly refusals: Record<string, number> = {};
  private readonly closes: Record<string, number> = {};
  private readonly socketErrors: Record<string, number> = {};
  private readonly closeSamples: CloseSample[] = [];
  private readonly duplicateSamples: DuplicateSample[] = [];
  private open = 0;
  private established = 0;
  private connectFailures = 0;
  private deliveries = 0;
  private reconnects = 0;
  /** Connections established for the first time or given up on. */
  private settled = 0;
  private connectStartedMs = 0;
  private connectDoneSent = true;

  constructor(
    private readonly workerId: number,
    /** Connections of the process (the tracker's local indexes 0 … connections − 1). */
    private readonly connections: number,
    private readonly tracker: DeliveryTracker,
    private readonly send: (message: WorkerMessage) => void,
  ) {}

  /** The connect phase starts: `connect-done` is sent once every connection has settled. */
  connectStarted(): void {
    this.connectStartedMs = Date.now();
    this.connectDoneSent = false;
  }

  /** A connection was established for the first time, `connectUs` after its attempt started. */
  connected(connectUs: number): void {
    this.open += 1;
    this.established += 1;
    this.connectLatency.record(connectUs);
    this.settle();
  }

  /** A connection was established again, `downUs` after it dropped (undefined: not known). */
  reconnected(downUs: number | undefined): void {
    this.open += 1;
    this.reconnects += 1;
    if (downUs !== undefined) this.reconnectLatency.record(downUs);
  }

  /** An established connection ended (`startedAtUs`: when the attempt that established it started). */
  dropped(user: number, code: number, startedAtUs: number, stopping: boolean): void {
    this.open -= 1;
    count(this.closes, String(code));
    if (this.closeSamples.length < SAMPLES) this.closeSamples.push({ user, code, openForMs: Math.round((monotonicMicros() - startedAtUs) / 1000), stopping });
  }

  /** An attempt ended before it was established; a close without a close frame is not counted as a close. */
  attemptClosed(code: number): void {
    if (code !== ABNORMAL_CLOSE) count(this.closes, String(code));
  }

  /** A connection's retries are spent. */
  connectFailed(): void {
    this.connectFailures += 1;
    this.settle();
  }

  refused(reason: string): void {
    count(this.refusals, reason);
  }

  socketError(code: string): void {
    count(this.socketErrors, code);
  }

  /** One event received by local connection `conn`; returns what DeliveryTracker.record does (its layer, FOREIGN or DUPLICATE). */
  delivered(conn: number, org: number, seq: number, latencyUs: number): number {
    this.deliveries += 1;
    this.latency.record(latencyUs);
    this.interval.record(latencyUs);
    return this.tracker.record(conn, org, seq);
  }

  /** Whether a duplicate is still worth describing (only the first few are). */
  wantsDuplicateSample(): boolean {
    return this.duplicateSamples.length < SAMPLES;
  }

  duplicate(sample: DuplicateSample): void {
    if (this.wantsDuplicateSample()) this.duplicateSamples.push(sample);
  }

  /** Highest sequence local connection `conn` has seen in its organization of `layer`. */
  lastSeq(conn: number, layer: number): number {
    return this.tracker.lastSeq(conn, layer);
  }

  /** Start of the measured phase: the latency histogram starts over. */
  mark(): void {
    this.latency.reset();
  }

  /** Sends the counters so far and the latency since the previous report. */
  sendStats(cpu: NodeJS.CpuUsage, rssBytes: number): void {
    this.send({
      type: 'stats',
      workerId: this.workerId,
      atMs: Date.now(),
      open: this.open,
      established: this.established,
      connectFailures: this.connectFailures,
      refusals: { ...this.refusals },
      closes: { ...this.closes },
      socketErrors: { ...this.socketErrors },
      deliveries: this.deliveries,
      reconnects: this.reconnects,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      rssBytes,
      interval: this.interval.toSparse(),
    });
    this.interval.reset();
  }

  /** Sends the totals against the publisher's final sequences; `counted(conn)`: established at the mark. */
  sendVerified(finalSeqs: readonly number[], counted: (conn: number) => boolean): void {
    let countedConnections = 0;
    for (let conn = 0; conn < this.connections; conn++) if (counted(conn)) countedConnections += 1;
    this.send({
      type: 'verified',
      workerId: this.workerId,
      counts: this.tracker.totals(finalSeqs, counted),
      counted: countedConnections,
      latency: this.latency.toSparse(),
      connectLatency: this.connectLatency.toSparse(),
      reconnectLatency: this.reconnectLatency.toSparse(),
      duplicateSamples: this.duplicateSamples,
      closeSamples: this.closeSamples,
      lossSamples: this.tracker.lossSamples(finalSeqs, counted, SAMPLES),
    });
  }

  private settle(): void {
    this.settled += 1;
    if (!this.connectDoneSent && this.settled >= this.connections) {
      this.connectDoneSent = true;
      this.send({ type: 'connect-done', workerId: this.workerId, established: this.established, failed: this.connectFailures, elapsedMs: Date.now() - this.connectStartedMs });
    }
  }
}

function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}
