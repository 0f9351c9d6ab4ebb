export interface BackoffPolicy {
  /** Delay before the first retry, in ms. */
  readonly minMs: number;
  /** Upper bound of any delay, in ms. */
  readonly maxMs: number;
}

/**
 * Capped exponential backoff with "equal jitter": half the exponential step is fixed, half random,
 * so a fleet of clients that lost the server at the same moment does not reconnect in lock-step, and
 * no delay drops near zero. `attempt` is 1-based.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const step = Math.min(policy.maxMs, policy.minMs * 2 ** exponent);
  return Math.round(step / 2 + random() * (step / 2));
}
