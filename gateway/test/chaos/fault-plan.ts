import type { Random } from './seeded-random.js';

export const FAULT_KINDS = ['pod-stop', 'pod-kill', 'broker-connections', 'broker-restart', 'redis-pause', 'queue-shrink'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  readonly index: number;
  readonly kind: FaultKind;
  /** When it should start, from the start of the run. */
  readonly atMs: number;
}

export interface FaultPlanOptions {
  readonly durationMs: number;
  /** No fault before this (clients connect, traffic flows). */
  readonly warmupMs: number;
  /** No fault starts in the last `cooldownMs` of the run. */
  readonly cooldownMs: number;
  readonly minGapMs: number;
  readonly maxGapMs: number;
  readonly kinds: readonly FaultKind[];
  /** Most faults of a kind over the run (e.g. broker restarts, which disturb the whole node). */
  readonly caps: Partial<Record<FaultKind, number>>;
}

const WEIGHTS: Record<FaultKind, number> = {
  'pod-stop': 3,
  'pod-kill': 2,
  'broker-connections': 3,
  'broker-restart': 1,
  'redis-pause': 2,
  'queue-shrink': 3,
};

/**
 * The faults of a run, drawn from the seed alone: every kind once first (in random order), then
 * weighted picks within the caps, at random gaps. The injector runs them one after another.
 */
export function planFaults(random: Random, options: FaultPlanOptions): PlannedFault[] {
  const counts = new Map<FaultKind, number>();
  const allowed = (kind: FaultKind): boolean => (counts.get(kind) ?? 0) < (options.caps[kind] ?? Number.POSITIVE_INFINITY);
  const first = random.shuffle(options.kinds);
  const plan: PlannedFault[] = [];
  let atMs = options.warmupMs;
  for (let index = 0; atMs <= options.durationMs - options.cooldownMs; index += 1) {
    const candidates = options.kinds.filter(allowed);
    if (candidates.length === 0) break;
    const kind = index < first.length && allowed(first[index]!) ? first[index]! : weightedPick(random, candidates);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    plan.push({ index, kind, atMs });
    atMs += random.int(options.minGapMs, options.maxGapMs);
  }
  return plan;
}

function weightedPick(random: Random, kinds: readonly FaultKind[]): FaultKind {
  const total = kinds.reduce((sum, kind) => sum + WEIGHTS[kind], 0);
  let roll = random.next() * total;
  for (const kind of kinds) {
    roll -= WEIGHTS[kind];
    if (roll < 0) return kind;
  }
  return kinds[kinds.length - 1]!;
}
