import { fork, type ChildProcess } from 'node:child_process';
import { Histogram } from '../metrics/histogram.js';
import { siblingModule } from '../targets/module-path.js';
import { ZERO_COUNTS, addCounts, type DeliveryCounts, type LossSample } from './delivery-tracker.js';
import type { CloseSample, DuplicateSample, ParentMessage, WorkerConfig, WorkerMessage, WorkerStats, WorkerVerified } from './worker-messages.js';

/** Each client process stays below the 20,000 file descriptors a process may hold. */
export const MAX_CONNECTIONS_PER_PROCESS = 18_000;

export type PoolConfig = Omit<WorkerConfig, 'workerId' | 'usersFrom' | 'usersTo'>;

export interface ClientPoolOptions {
  readonly users: number;
  readonly processes: number;
  readonly config: PoolConfig;
  readonly startTimeoutMs?: number;
  /** Extra node options of the client processes (e.g. --cpu-prof). */
  readonly nodeOptions?: readonly string[];
}

/** The client side at one instant, summed over the client processes. */
export interface PoolSnapshot {
  readonly atMs: number;
  readonly open: number;
  readonly established: number;
  readonly connectFailures: number;
  readonly deliveries: number;
  readonly reconnects: number;
  readonly cpuUs: number;
  readonly rssBytes: number;
  readonly refusals: Record<string, number>;
  readonly closes: Record<string, number>;
  readonly socketErrors: Record<string, number>;
}

export interface ConnectSummary {
  readonly established: number;
  readonly failed: number;
  readonly elapsedMs: number;
}

export interface VerifyResult {
  readonly counts: DeliveryCounts;
  readonly counted: number;
  readonly latency: Histogram;
  readonly connectLatency: Histogram;
  readonly reconnectLatency: Histogram;
  readonly duplicateSamples: DuplicateSample[];
  readonly lossSamples: LossSample[];
  readonly closeSamples: CloseSample[];
}

export class ClientPoolError extends Error {
  override readonly name = 'ClientPoolError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

interface Member {
  readonly child: ChildProcess;
  readonly workerId: number;
  readonly users: number;
  latest: WorkerStats | undefined;
  exited: boolean;
}

/**
 * The parent's view of the client processes: forks them, splits the users between them, relays
 * phase commands and aggregates what they report. Every wait has a deadline.
 */
export class ClientPool {
  private readonly members: Member[] = [];
  private readonly listeners = new Set<(message: WorkerMessage) => void>();
  private pendingInterval = new Histogram();

  private constructor() {}

  static async start(options: ClientPoolOptions): Promise<ClientPool> {
    const pool = new ClientPool();
    const processes = Math.max(options.processes, Math.ceil(options.users / MAX_CONNECTIONS_PER_PROCESS), 1);
    const per = Math.ceil(options.users / processes);
    const entry = siblingModule(import.meta.url, '../client/client-process');
    for (let workerId = 0; workerId < processes; workerId++) {
      const usersFrom = workerId * per;
      const usersTo = Math.min(options.users, usersFrom + per);
      if (usersFrom >= usersTo) break;
      const child = fork(entry.path, [], { execArgv: [...(options.nodeOptions ?? []), ...entry.execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const member: Member = { child, workerId, users: usersTo - usersFrom, latest: undefined, exited: false };
      child.on('message', (message: WorkerMessage) => pool.onMessage(member, message));
      child.on('exit', () => {
        member.exited = true;
      });
      pool.members.push(member);
      const config: WorkerConfig = { ...options.config, workerId, usersFrom, usersTo };
      pool.sendTo(member, { type: 'init', config });
    }
    await pool.collect('ready', options.startTimeoutMs ?? 60_000);
    return pool;
  }

  get processCount(): number {
    return this.members.length;
  }

  pids(): number[] {
    return this.members.map((m) => m.child.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** Starts connecting every user; resolves when each process has settled all of its users. */
  async connect(timeoutMs: number): Promise<ConnectSummary> {
    const started = Date.now();
    const done = this.collect('connect-done', timeoutMs);
    this.broadcast({ type: 'connect' });
    const results = await done;
    return {
      established: results.reduce((sum, r) => sum + r.established, 0),
      failed: results.reduce((sum, r) => sum + r.failed, 0),
      elapsedMs: Date.now() - started,
    };
  }

  mark(): void {
    this.broadcast({ type: 'mark' });
  }

  async verify(finalSeqs: readonly number[], timeoutMs = 30_000): Promise<VerifyResult> {
    const done = this.collect('verified', timeoutMs);
    this.broadcast({ type: 'verify', finalSeqs });
    const results = (await done) as WorkerVerified[];
    let counts: DeliveryCounts = ZERO_COUNTS;
    const latency = new Histogram();
    const connectLatency = new Histogram();
    const reconnectLatency = new Histogram();
    let counted = 0;
    const duplicateSamples: DuplicateSample[] = [];
    const lossSamples: LossSample[] = [];
    const closeSamples: CloseSample[] = [];
    for (const r of results) {
      closeSamples.push(...r.closeSamples);
      duplicateSamples.push(...r.duplicateSamples);
      lossSamples.push(...r.lossSamples);
      counts = addCounts(counts, r.counts);
      counted += r.counted;
      latency.merge(Histogram.fromSparse(r.latency));
      connectLatency.merge(Histogram.fromSparse(r.connectLatency));
      reconnectLatency.merge(Histogram.fromSparse(r.reconnectLatency));
    }
    return { counts, counted, latency, connectLatency, reconnectLatency, duplicateSamples, lossSamples, closeSamples };
  }

  /** Latency of the deliveries reported since the previous call. */
  takeInterval(): Histogram {
    const interval = this.pendingInterval;
    this.pendingInterval = new Histogram();
    return interval;
  }

  /** A snapshot made only of reports sent after this call (waits up to `timeoutMs`, then uses what it has). */
  async freshSnapshot(timeoutMs = 5_000): Promise<PoolSnapshot> {
    const since = Date.now();
    const deadline = since + timeoutMs;
    while (Date.now() < deadline && this.members.some((m) => !m.exited && (m.latest === undefined || m.latest.atMs < since))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.snapshot();
  }

  snapshot(): PoolSnapshot {
    const refusals: Record<string, number> = {};
    const closes: Record<string, number> = {};
    const socketErrors: Record<string, number> = {};
    let open = 0, established = 0, connectFailures = 0, deliveries = 0, reconnects = 0, cpuUs = 0, rssBytes = 0;
    for (const { latest } of this.members) {
      if (latest === undefined) continue;
      open += latest.open;
      established += latest.established;
      connectFailures += latest.connectFailures;
      deliveries += latest.deliveries;
      reconnects += latest.reconnects;
      cpuUs += latest.cpuUserUs + latest.cpuSystemUs;
      rssBytes += latest.rssBytes;
      for (const [k, v] of Object.entries(latest.refusals)) refusals[k] = (refusals[k] ?? 0) + v;
      for (const [k, v] of Object.entries(latest.closes)) closes[k] = (closes[k] ?? 0) + v;
      for (const [k, v] of Object.entries(latest.socketErrors)) socketErrors[k] = (socketErrors[k] ?? 0) + v;
    }
    return { atMs: Date.now(), open, established, connectFailures, deliveries, reconnects, cpuUs, rssBytes, refusals, closes, socketErrors };
  }

  /** Closes every connection and ends the processes (killed if they do not finish in time). */
  async close(timeoutMs = 10_000): Promise<void> {
    const alive = this.members.filter((m) => !m.exited && m.child.connected);
    // A process that does not confirm in time is killed below; the timeout itself is not an error.
    const done = this.collect('closed', timeoutMs, alive).catch(() => undefined);
    for (const member of alive) this.sendTo(member, { type: 'close' });
    await done;
    const deadline = Date.now() + 2_000;
    while (this.members.some((m) => !m.exited) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const member of this.members) if (!member.exited) member.child.kill('SIGKILL');
  }

  private onMessage(member: Member, message: WorkerMessage): void {
    if (message.type === 'stats') {
      member.latest = message;
      this.pendingInterval.merge(Histogram.fromSparse(message.interval));
    }
    for (const listener of this.listeners) listener(message);
  }

  private broadcast(message: ParentMessage): void {
    for (const member of this.members) this.sendTo(member, message);
  }

  private sendTo(member: Member, message: ParentMessage): void {
    if (!member.exited && member.child.connected) member.child.send(message);
  }

  /** One message of `type` from each member (or each of `from`), or an error at the deadline. */
  private collect<T extends WorkerMessage['type']>(type: T, timeoutMs: number, from: readonly Member[] = this.members): Promise<Array<Extract<WorkerMessage, { type: T }>>> {
    return new Promise((resolve, reject) => {
      const got = new Map<number, Extract<WorkerMessage, { type: T }>>();
      const ids = new Set(from.map((m) => m.workerId));
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        clearInterval(watch);
        this.listeners.delete(listener);
        if (error === undefined) resolve([...got.values()]);
        else reject(error);
      };
      const listener = (message: WorkerMessage): void => {
        if (message.type === 'fatal') {
          finish(new ClientPoolError(`client process ${message.workerId} failed: ${message.message}`));
          return;
        }
        if (message.type === type && ids.has(message.workerId)) {
          got.set(message.workerId, message as Extract<WorkerMessage, { type: T }>);
          if (got.size === ids.size) finish();
        }
      };
      const timer = setTimeout(() => finish(new ClientPoolError(`timed out after ${timeoutMs} ms waiting for '${type}' from ${ids.size - got.size} client process(es)`)), timeoutMs);
      const watch = setInterval(() => {
        const dead = from.find((m) => m.exited && !got.has(m.workerId));
        if (dead !== undefined) finish(new ClientPoolError(`client process ${dead.workerId} exited while waiting for '${type}'`));
      }, 200);
      this.listeners.add(listener);
    });
  }
}
