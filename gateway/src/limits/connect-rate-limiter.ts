import { TokenBucket } from './token-bucket.js';

export interface ConnectRateLimiterOptions {
  readonly ratePerSecond: number;
  readonly burst: number;
  /** Upper bound on remembered addresses; the least recently seen is forgotten first. Default 50 000. */
  readonly maxTrackedAddresses?: number;
  /** Monotonic milliseconds; defaults to `performance.now()`. */
  readonly now?: () => number;
}

export interface ConnectRateLimiter {
  /** Takes one token from the address's bucket; false means "refuse with 429". */
  allow(address: string): boolean;
  /** Addresses currently remembered (for tests and metrics). */
  readonly trackedAddresses: number;
}

/** Buckets inspected for eviction per call: enough to drain idle entries faster than new ones arrive. */
const SWEEP_PER_CALL = 2;

/**
 * Per-client-address token buckets for WebSocket upgrades. Memory stays bounded under a flood of
 * distinct (e.g. spoofed) addresses: the buckets live in a Map kept in least-recently-seen order,
 * each call forgets a couple of the oldest buckets once they have refilled (a full bucket is the same
 * as no bucket), and the map never exceeds `maxTrackedAddresses` (forgetting the oldest bucket only
 * ever makes the limiter more lenient for that address, never stricter). No timers, nothing to close.
 */
export function createConnectRateLimiter(options: ConnectRateLimiterOptions): ConnectRateLimiter {
  const { ratePerSecond, burst, now } = options;
  const maxTracked = options.maxTrackedAddresses ?? 50_000;
  if (!(Number.isInteger(maxTracked) && maxTracked >= 1)) throw new RangeError(`maxTrackedAddresses must be a positive integer (got ${maxTracked})`);
  void new TokenBucket(ratePerSecond, burst); // throws on a bad rate or burst, before any request
  const buckets = new Map<string, TokenBucket>();

  const sweep = (): void => {
    let inspected = 0;
    for (const [address, bucket] of buckets) {
      if (inspected++ >= SWEEP_PER_CALL || !bucket.isFull()) break;
      buckets.delete(address);
    }
  };

  return {
    allow(address) {
      sweep();
      let bucket = buckets.get(address);
      if (bucket === undefined) {
        bucket = new TokenBucket(ratePerSecond, burst, now);
      } else {
        buckets.delete(address); // re-inserted below: moves it to the most recently seen end
      }
      buckets.set(address, bucket);
      const allowed = bucket.tryTake();
      while (buckets.size > maxTracked) {
        const oldest = buckets.keys().next();
        if (oldest.done === true) break;
        buckets.delete(oldest.value);
      }
      return allowed;
    },
    get trackedAddresses() {
      return buckets.size;
    },
  };
}
