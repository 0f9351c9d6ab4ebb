// A decision is a delay in ms (≥ 0) before the next attempt, or one of these.

/** Nothing more to do for the connection: it stays closed and does not count as a failure. */
export const STAY_CLOSED = -1;
/** The retries are spent: the connection stays closed and counts as a connect failure. */
export const GIVE_UP = -2;

/** First retry after about 100 ms, doubling up to about 2 s (each × 0.5…1.5 at random). */
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 2_000;

export interface RetryOptions {
  /** Attempts after the first for a connection that never got established. */
  readonly connectRetries: number;
  /** Reconnect when an established connection drops. */
  readonly reconnect: boolean;
  /** Largest random delay before a reconnect (spreads a mass drop out). */
  readonly reconnectJitterMs: number;
}

/**
 * When a virtual connection opens again after it ended, and where to. Pure apart from `random`
 * (injectable for tests); the caller counts attempts (1 for the first) and does the waiting.
 */
export class RetryPolicy {
  constructor(
    private readonly options: RetryOptions,
    private readonly random: () => number = Math.random,
  ) {
    const { connectRetries, reconnectJitterMs } = options;
    if (!Number.isInteger(connectRetries) || connectRetries < 0) throw new RangeError(`connectRetries must be an integer ≥ 0, got ${connectRetries}`);
    if (!Number.isFinite(reconnectJitterMs) || reconnectJitterMs < 0) throw new RangeError(`reconnectJitterMs must be ≥ 0, got ${reconnectJitterMs}`);
  }

  /** An established connection dropped: the delay before reconnecting (attempts start again), or STAY_CLOSED. */
  afterDrop(): number {
    if (!this.options.reconnect) return STAY_CLOSED;
    return this.random() * this.options.reconnectJitterMs;
  }

  /**
   * Attempt number `attempts` ended before it was established: the backoff before the next one,
   * or, with the retries spent, GIVE_UP (STAY_CLOSED for a connection that was established once
   * and is not to reconnect).
   */
  afterFailedAttempt(attempts: number, everEstablished: boolean): number {
    if (attempts <= this.options.connectRetries) return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempts - 1)) * (0.5 + this.random());
    return !everEstablished || this.options.reconnect ? GIVE_UP : STAY_CLOSED;
  }
}

/**
 * Which of `count` targets attempt `attempts` (0 for the first) goes to: the home one, then each
 * retry the next one. With pods started directly there is no load balancer to route around a dead one.
 */
export function targetIndex(home: number, attempts: number, count: number): number {
  return (home + attempts) % count;
}
