export interface BackoffPolicy {
  /** Upper bound of the first delay. */
  readonly baseDelayMs: number;
  /** No delay exceeds this. */
  readonly maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter: a uniformly random delay in [0, min(max, base × 2^failures)).
 * `failures` is the number of consecutive failed attempts so far (0 for the first reconnect after a
 * connection that worked). `random` returns a number in [0, 1).
 */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number): number {
  const exponent = Math.min(Math.max(0, failures), 52);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
