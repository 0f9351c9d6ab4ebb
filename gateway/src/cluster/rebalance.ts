/**
 * How many connections this pod should shed now: after a scale-out the new pods start empty, and a
 * pod well above the mean hands the excess over gradually (a bounded number per interval, clients
 * reconnect through the load balancer, which spreads them). Pure.
 */
export function connectionsToShed(self: number, livePodCounts: readonly number[], tolerancePercent: number, maxPerInterval: number): number {
  if (livePodCounts.length < 2 || self === 0) return 0;
  const total = livePodCounts.reduce((sum, n) => sum + n, 0);
  const mean = total / livePodCounts.length;
  if (self <= mean * (1 + tolerancePercent / 100) || self - mean < 1) return 0;
  return Math.min(Math.floor(self - mean), maxPerInterval);
}

/** One rebalancing tick as the pod sees it. */
export interface RebalanceObservation {
  /** This pod's connections now. */
  readonly self: number;
  /** Every live pod's connections (this pod's included). */
  readonly livePodCounts: readonly number[];
  /** The names of the live pods: a change means pods came or went. */
  readonly livePods: readonly string[];
}

export interface RebalanceDecision {
  /** Connections to close with 4002 now. */
  readonly shed: number;
  /** Set when shedding was found futile at this tick (for the log). */
  readonly gaveUp?: { readonly shed: number; readonly left: number };
}

export interface ShedGovernorOptions {
  readonly tolerancePercent: number;
  readonly maxPerInterval: number;
  /** The last rounds judged together. Default 3. */
  readonly windowRounds?: number;
  /** Below this share of the shed connections actually gone, shedding is futile. Default 0.25. */
  readonly minEffect?: number;
}

interface Round {
  readonly shed: number;
  readonly before: number;
  /** Connections gone (net) by the next tick; undefined until then. */
  left?: number;
}

/**
 * Shedding only where it works. A load balancer that hashes a sticky key (the token, the SDK's
 * `affinity` parameter) sends a shed client whose key maps to this pod straight back: shedding it
 * again changes nothing but costs a reconnect, every interval, for ever. So the governor watches
 * what shedding does: per round, how many connections actually left by the next tick (net). When
 * over the last `windowRounds` rounds (at least that many connections shed) fewer than `minEffect`
 * of the shed connections left, the balancer is sending them back, and shedding stops until the
 * set of live pods changes (a scale-out or a pod gone: where keys hash to has changed). A balancer
 * that spreads reconnects (round robin, least connections) moves most shed clients, and the pod
 * keeps shedding until it is within the tolerance. Pure apart from its own state; one per pod.
 */
export class ShedGovernor {
  private rounds: Round[] = [];
  private podSet: string | undefined;
  private suspended = false;
  private readonly windowRounds: number;
  private readonly minEffect: number;

  constructor(private readonly options: ShedGovernorOptions) {
    this.windowRounds = options.windowRounds ?? 3;
    this.minEffect = options.minEffect ?? 0.25;
  }

  /** True while shedding is off until the set of pods changes. */
  get givenUp(): boolean {
    return this.suspended;
  }

  decide(observation: RebalanceObservation): RebalanceDecision {
    const podSet = [...observation.livePods].sort().join('\n');
    if (podSet !== this.podSet) {
      this.podSet = podSet;
      this.rounds = [];
      this.suspended = false;
    }
    const previous = this.rounds.at(-1);
    if (previous !== undefined && previous.left === undefined) previous.left = previous.before - observation.self;
    if (this.suspended) return { shed: 0 };

    const judged = this.rounds.slice(-this.windowRounds);
    const shedInWindow = judged.reduce((sum, r) => sum + r.shed, 0);
    const leftInWindow = judged.reduce((sum, r) => sum + Math.max(0, r.left ?? 0), 0);
    if (judged.length >= this.windowRounds && shedInWindow >= this.windowRounds && leftInWindow < shedInWindow * this.minEffect) {
      this.suspended = true;
      return { shed: 0, gaveUp: { shed: shedInWindow, left: leftInWindow } };
    }

    const shed = connectionsToShed(observation.self, observation.livePodCounts, this.options.tolerancePercent, this.options.maxPerInterval);
    if (shed > 0) this.rounds = [...this.rounds.slice(-(this.windowRounds - 1)), { shed, before: observation.self }];
    return { shed };
  }
}
