import type { Redis } from 'ioredis';
import type { Cluster, ClusterPod } from '../harness/cluster.js';
import { brokerAppRunning, type BrokerConnection, clearPolicy, closeConnection, exactPattern, setMaxLengthPolicy, startBrokerApp, stopBrokerApp, vhostConnections } from './broker-control.js';
import type { FaultKind, PlannedFault } from './fault-plan.js';
import { scrape, type PodMetrics } from './pod-metrics.js';
import type { Random } from './seeded-random.js';

export interface FaultTargets {
  readonly cluster: Cluster;
  readonly vhost: string;
  /** AMQP_QUEUE_PREFIX of the pods (their queue is `<prefix><POD_NAME>`). */
  readonly queuePrefix: string;
  /** A client of the shared Redis, for CLIENT PAUSE. */
  readonly redis: Redis;
  /** Publishes a burst of small events (to overflow a shrunk queue). */
  readonly burst: (count: number) => Promise<void>;
  /** Publishes `copies` byte-identical copies of each of `bodies` new bodies without message id. */
  readonly identicalBurst: (bodies: number, copies: number) => Promise<void>;
  readonly metrics: PodMetrics;
  /** How many pods the run keeps (a killed pod is replaced). */
  readonly pods: number;
  readonly log: (line: string) => void;
}

/** What one fault did, for the report and for a reproduction. */
export interface FaultRecord {
  readonly index: number;
  readonly kind: FaultKind;
  /** Seconds from the start of the run. */
  readonly startS: number;
  durationMs: number;
  target: string;
  detail: string;
  error?: string;
}

const SHRINK_POLICY = 'chaos-shrink';

/**
 * Runs a fault plan against the cluster, one fault at a time, each bounded in time and undone in a
 * `finally` (SIGCONT, start_app, CLIENT UNPAUSE, clear_policy); `revertAll` undoes whatever a
 * fault interrupted by an abort left behind. Each fault draws its parameters from its own stream.
 */
export class FaultInjector {
  readonly records: FaultRecord[] = [];
  private readonly stopped = new Set<ClusterPod>();
  private brokerStopped = false;
  private policySet = false;
  private redisPaused = false;

  constructor(private readonly targets: FaultTargets, private readonly random: Random) {}

  /** Runs the plan from `startedAtMs`; returns when it is done, the deadline passed or `signal` aborted. */
  async run(plan: readonly PlannedFault[], startedAtMs: number, lastStartMs: number, signal: AbortSignal): Promise<void> {
    let calmUntil = 0;
    for (const fault of plan) {
      const startMs = Math.max(startedAtMs + fault.atMs, calmUntil);
      if (startMs > startedAtMs + lastStartMs) break;
      await sleep(startMs - Date.now(), signal);
      if (signal.aborted) return;
      const record: FaultRecord = { index: fault.index, kind: fault.kind, startS: (Date.now() - startedAtMs) / 1000, durationMs: 0, target: '', detail: '' };
      this.records.push(record);
      const began = Date.now();
      try {
        await this.inject(fault.kind, this.random.fork(`fault-${fault.index}`), record, signal);
      } catch (error) {
        record.error = error instanceof Error ? error.message : String(error);
      } finally {
        record.durationMs = Date.now() - began;
        this.targets.log(`fault #${record.index} ${record.kind} ${record.target} ${record.detail}${record.error === undefined ? '' : ` ERROR ${record.error}`} (${record.durationMs} ms)`);
      }
      calmUntil = Date.now() + 2_000;
    }
  }

  /** Undoes anything a fault left in place: stopped pods, a stopped broker app, a policy, a Redis pause; replaces missing pods. */
  async revertAll(): Promise<void> {
    const problems: string[] = [];
    const attempt = async (what: string, action: () => Promise<unknown>): Promise<void> => {
      try {
        await action();
      } catch (error) {
        problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    for (const pod of this.stopped) if (pod.alive) pod.process.kill('SIGCONT');
    this.stopped.clear();
    if (this.brokerStopped || !(await brokerAppRunning())) await attempt('start_app', async () => {
      await startBrokerApp();
      this.brokerStopped = false;
    });
    if (this.redisPaused) await attempt('CLIENT UNPAUSE', async () => {
      await this.targets.redis.call('CLIENT', 'UNPAUSE');
      this.redisPaused = false;
    });
    if (this.policySet) await attempt('clear_policy', async () => {
      await clearPolicy(this.targets.vhost, SHRINK_POLICY);
      this.policySet = false;
    });
    if (problems.length > 0) throw new Error(`could not undo every fault: ${problems.join('; ')}`);
  }

  /** Starts pods until `pods` are alive (after a failed replacement). */
  async replenish(): Promise<void> {
    const { cluster } = this.targets;
    for (let i = 0; i < 3 && cluster.pods.filter((p) => p.alive).length < this.targets.pods; i += 1) {
      const dead = cluster.pods.find((p) => !p.alive);
      if (dead !== undefined) await cluster.removePod(dead.name).catch(() => undefined);
      await cluster.addPod().catch((error: unknown) => this.targets.log(`could not start a pod: ${String(error)}`));
    }
  }

  private async inject(kind: FaultKind, random: Random, record: FaultRecord, signal: AbortSignal): Promise<void> {
    switch (kind) {
      case 'pod-stop': return this.podStop(random, record, signal);
      case 'pod-kill': return this.podKill(random, record, signal);
      case 'broker-connections': return this.brokerConnections(random, record);
      case 'broker-restart': return this.brokerRestart(random, record, signal);
      case 'redis-pause': return this.redisPause(random, record, signal);
      case 'queue-shrink': return this.queueShrink(random, record, signal);
    }
  }

  private async podStop(random: Random, record: FaultRecord, signal: AbortSignal): Promise<void> {
    const pod = await this.pickPod(random, record);
    const ms = random.int(1_000, 6_000);
    record.detail = `SIGSTOP for ${ms} ms`;
    await this.whileStopped(pod, () => sleep(ms, signal));
  }

  private async podKill(random: Random, record: FaultRecord, signal: AbortSignal): Promise<void> {
    const { cluster, metrics } = this.targets;
    const pod = await this.pickPod(random, record);
    metrics.record(pod.process.pid, await scrape(pod.managementUrl));
    await cluster.kill(pod.name, 'SIGKILL');
    const downMs = random.int(200, 3_000);
    await sleep(downMs, signal);
    if (random.chance(0.5)) {
      record.detail = `SIGKILL, ${downMs} ms down, restarted under the same name (same queue)`;
      await cluster.restart(pod.name);
    } else {
      await cluster.removePod(pod.name);
      const fresh = await cluster.addPod();
      record.detail = `SIGKILL, ${downMs} ms down, replaced by ${fresh.name}`;
    }
  }

  private async brokerConnections(random: Random, record: FaultRecord): Promise<void> {
    const connections = await vhostConnections(this.targets.vhost);
    const alive = this.targets.cluster.pods.filter((p) => p.alive);
    const roll = random.next();
    let chosen: BrokerConnection[];
    if (roll < 0.6 && alive.length > 0) {
      const pod = random.pick(alive);
      record.target = pod.name;
      chosen = connections.filter((c) => c.clientName === `orgcast ${pod.name}`);
    } else if (roll < 0.8) {
      record.target = 'publisher';
      chosen = connections.filter((c) => c.clientName === 'chaos publisher');
    } else {
      record.target = 'all';
      chosen = connections;
    }
    for (const connection of chosen) await closeConnection(connection.pid, 'chaos').catch(() => undefined);
    record.detail = `closed ${chosen.length} of ${connections.length} connections`;
  }

  private async brokerRestart(random: Random, record: FaultRecord, signal: AbortSignal): Promise<void> {
    const ms = random.int(1_000, 4_000);
    record.target = 'rabbit';
    record.detail = `stop_app, ${ms} ms down, start_app`;
    this.brokerStopped = true;
    try {
      await stopBrokerApp();
      await sleep(ms, signal);
    } finally {
      await startBrokerApp();
      this.brokerStopped = false;
    }
  }

  /**
   * CLIENT PAUSE WRITE: appends stall (beyond 2 s the gateway's Redis commands time out and are
   * retried). A third of the time a burst of byte-identical messages without message id is
   * published meanwhile, and another third also closes the active sequencer's broker connection
   * while they wait: the copies come back redelivered. Each copy must still be one event.
   */
  private async redisPause(random: Random, record: FaultRecord, signal: AbortSignal): Promise<void> {
    const variant = random.pick(['plain', 'identical', 'identical-redelivered'] as const);
    const withBurst = variant !== 'plain';
    const withRedelivery = variant === 'identical-redelivered';
    const ms = withBurst ? random.int(1_500, 3_000) : random.int(300, 3_000);
    const bodies = random.int(1, 3);
    const copies = random.int(2, 8);
    const closeAfterMs = random.int(200, 800);
    record.target = 'redis';
    record.detail = `CLIENT PAUSE ${ms} WRITE`;
    const { redis } = this.targets;
    const began = Date.now();
    this.redisPaused = true;
    try {
      // The pause ends by itself after `ms` even if this process dies.
      await redis.call('CLIENT', 'PAUSE', String(ms), 'WRITE');
      if (withBurst) {
        await this.targets.identicalBurst(bodies, copies);
        record.detail += `, ${copies} identical copies of ${bodies} bodies`;
      }
      if (withRedelivery) {
        await sleep(closeAfterMs, signal);
        const sequencer = await this.activeSequencer(this.targets.cluster.pods.filter((p) => p.alive));
        const connections = sequencer === undefined ? [] : (await vhostConnections(this.targets.vhost)).filter((c) => c.clientName === `orgcast ${sequencer.name}`);
        for (const connection of connections) await closeConnection(connection.pid, 'chaos').catch(() => undefined);
        record.target = `redis, ${sequencer?.name ?? 'no sequencer found'}`;
        record.detail += `, then the sequencer's broker connection closed (${connections.length})`;
      }
      await sleep(ms - (Date.now() - began), signal);
    } finally {
      await redis.call('CLIENT', 'UNPAUSE');
      this.redisPaused = false;
    }
  }

  private async queueShrink(random: Random, record: FaultRecord, signal: AbortSignal): Promise<void> {
    const pod = await this.pickPod(random, record);
    const maxLength = random.int(1, 8);
    const ms = random.int(2_000, 7_000);
    const withStop = random.chance(0.7);
    const burst = withStop ? random.int(40, 120) : random.int(0, 40);
    record.detail = `max-length ${maxLength} for ${ms} ms${withStop ? ', pod SIGSTOPped' : ''}, burst of ${burst}`;
    const { vhost, queuePrefix } = this.targets;
    this.policySet = true;
    try {
      await setMaxLengthPolicy(vhost, SHRINK_POLICY, exactPattern(`${queuePrefix}${pod.name}`), maxLength);
      const work = async (): Promise<void> => {
        await this.targets.burst(burst);
        await sleep(ms, signal);
      };
      if (withStop) await this.whileStopped(pod, work);
      else await work();
    } finally {
      await clearPolicy(vhost, SHRINK_POLICY);
      this.policySet = false;
    }
  }

  private async whileStopped(pod: ClusterPod, work: () => Promise<void>): Promise<void> {
    if (!pod.alive) return;
    this.stopped.add(pod);
    pod.process.kill('SIGSTOP');
    try {
      await work();
    } finally {
      if (pod.alive) pod.process.kill('SIGCONT');
      this.stopped.delete(pod);
    }
  }

  /** A live pod: 40 % of the time the active sequencer (the most appends since the last sample), else any. */
  private async pickPod(random: Random, record: FaultRecord): Promise<ClusterPod> {
    const alive = this.targets.cluster.pods.filter((p) => p.alive);
    if (alive.length === 0) throw new Error('no live pod');
    let pod = random.pick(alive);
    let role = 'random pod';
    if (random.chance(0.4)) {
      const sequencer = await this.activeSequencer(alive);
      if (sequencer !== undefined) {
        pod = sequencer;
        role = 'sequencer';
      }
    }
    record.target = `${pod.name} (${role})`;
    return pod;
  }

  /** The pod that appended to history most recently (samples taken now, and before). */
  private async activeSequencer(pods: readonly ClusterPod[]): Promise<ClusterPod | undefined> {
    const { metrics } = this.targets;
    for (const pod of pods) metrics.record(pod.process.pid, await scrape(pod.managementUrl));
    const pid = metrics.latestSequencer(pods.map((p) => p.process.pid));
    return pods.find((p) => p.process.pid === pid);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
