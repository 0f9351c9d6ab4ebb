/**
 * The shared state (membership, presence, history) could not be reached or did not answer in time:
 * a Redis command timed out, its connection is down, or Redis refuses writes (out of memory, a
 * replica, loading). Not a bug and not the client's fault: requests that need the store are refused
 * with 503 `unavailable` and a Retry-After, never a 500.
 */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the shared store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
