export interface BackoffPolicy {
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * Delay before reconnect attempt `attempt` (0 for the first): exponential, with jitter so that pods
 * losing the same broker do not come back in lockstep. Always within [minMs, maxMs]: attempt n
 * draws uniformly from [max(minMs, cap / 2), cap] where cap = min(maxMs, minMs * 2^(n + 1)).
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(attempt + 1, 52));
  const floor = Math.min(cap, Math.max(policy.minMs, cap / 2));
  return Math.round(floor + random() * (cap - floor));
}
