const monotonicNow = (): number => performance.now();

/**
 * A token bucket: holds up to `burst` tokens, refilled continuously at `ratePerSecond`. One instance
 * per connection, so the state is two numbers (tokens, last refill time) next to the settings.
 * The default clock is monotonic (`performance.now()`), immune to wall-clock jumps.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;
  private readonly perMs: number;

  constructor(
    ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = monotonicNow,
  ) {
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be a positive number (got ${ratePerSecond})`);
    if (!(Number.isFinite(burst) && burst >= 1)) throw new RangeError(`burst must be a number >= 1 (got ${burst})`);
    this.perMs = ratePerSecond / 1000;
    this.tokens = burst;
    this.refilledAt = now();
  }

  /** Takes `n` tokens if available and returns true; otherwise takes nothing and returns false. */
  tryTake(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** True when the bucket is back to its full burst, i.e. indistinguishable from a fresh one. */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  private refill(): void {
    const t = this.now();
    const elapsed = t - this.refilledAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + elapsed * this.perMs);
      this.refilledAt = t;
    }
  }
}
