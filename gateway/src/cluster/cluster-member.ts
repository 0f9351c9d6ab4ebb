import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { PresenceStore } from '../presence/presence-store.js';
import type { PodDiscovery } from './pod-discovery.js';
import { PodRing } from './pod-ring.js';
import { ShedGovernor } from './rebalance.js';

export interface ClusterMemberOptions {
  readonly podName: string;
  readonly heartbeatMs: number;
  readonly rebalanceIntervalMs: number;
  readonly rebalanceTolerancePercent: number;
  readonly rebalanceMaxPerInterval: number;
}

export interface ClusterMemberDeps {
  readonly presence: PresenceStore;
  readonly discovery: PodDiscovery;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** This pod's live connection count. */
  readonly connections: () => number;
  /** Closes `count` connections with a reconnectable code, spread over `withinMs`. */
  readonly shed: (count: number, withinMs: number) => void;
  /** Told the connection count after every heartbeat (pod-deletion-cost). */
  readonly onConnectionCount?: (count: number) => void;
}

export interface ClusterMember {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly ring: PodRing;
}

/**
 * This pod's part in the cluster: it heartbeats its presence, keeps the pod ring current, carries
 * out the ring's duties (the owner of a dead pod's name reaps its presence entries), and sheds
 * connections when it holds well above the mean after a scale-out, for as long as shedding moves
 * them (ShedGovernor: not behind a balancer that hashes them straight back).
 */
export function createClusterMember(options: ClusterMemberOptions, deps: ClusterMemberDeps): ClusterMember {
  const { presence, logger, metrics } = deps;
  const ring = new PodRing(options.podName);
  const governor = new ShedGovernor({ tolerancePercent: options.rebalanceTolerancePercent, maxPerInterval: options.rebalanceMaxPerInterval });
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;

  async function heartbeat(): Promise<void> {
    const count = deps.connections();
    await presence.heartbeat(options.podName, count);
    deps.onConnectionCount?.(count);
    for (const dead of await presence.deadPods()) {
      if (dead === options.podName || !ring.owns(dead)) continue;
      if (await presence.reapDeadPod(dead)) logger.info({ deadPod: dead }, 'reaped the presence entries of a dead pod');
    }
  }

  async function rebalance(): Promise<void> {
    const pods = await presence.livePods();
    metrics.livePods.set(pods.size);
    const self = deps.connections();
    const counts = [...pods].map(([pod, count]) => (pod === options.podName ? self : count));
    if (!pods.has(options.podName)) counts.push(self);
    const names = pods.has(options.podName) ? [...pods.keys()] : [...pods.keys(), options.podName];
    const decision = governor.decide({ self, livePodCounts: counts, livePods: names });
    if (decision.gaveUp !== undefined) {
      logger.warn({ connections: self, pods: counts.length, ...decision.gaveUp },
        'shed connections come back to this pod (the load balancer hashes them here): no more shedding until the set of pods changes');
    }
    if (decision.shed > 0) {
      logger.info({ connections: self, pods: counts.length, shedding: decision.shed }, 'above the cluster mean after a scale-out: shedding connections');
      deps.shed(decision.shed, options.rebalanceIntervalMs * 0.8);
    }
  }

  /** Runs `work` every `ms`, skipping a tick while the previous run is still going. */
  function every(ms: number, work: () => Promise<void>, what: string): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || stopped) return;
      busy = true;
      work()
        .catch((error: unknown) => logger.warn({ err: error }, `${what} failed`))
        .finally(() => {
          busy = false;
        });
    }, ms);
    timer.unref();
    timers.push(timer);
  }

  return {
    ring,
    async start() {
      await presence.heartbeat(options.podName, deps.connections());
      await deps.discovery.start((pods) => {
        const change = ring.update(pods);
        metrics.livePods.set(ring.pods.length);
        if (change.added.length > 0 || change.removed.length > 0) logger.info({ pods: ring.pods, ...change }, 'pod ring changed');
      });
      every(options.heartbeatMs, heartbeat, 'presence heartbeat');
      if (options.rebalanceIntervalMs > 0) every(options.rebalanceIntervalMs, rebalance, 'rebalancing');
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await deps.discovery.stop();
      await presence.removePod(options.podName);
    },
  };
}
