/**
 * Whether the shared store still holds what it held: Redis restarted without persistence, failed
 * over to a replica that lagged, or was restored from an older snapshot. Data from before the
 * current epoch may be gone: histories, dedupe keys, revocations, presence.
 */
export interface StoreEpoch {
  /**
   * When the current epoch began (ms, the store's clock); 0 for a store that cannot lose its data
   * apart from this process (memory). Anything recorded before it may have been lost.
   */
  sinceMs(): number;
  /**
   * When a pod saw the store lose its data (the start of the epoch that followed); undefined when
   * no loss was seen. A store emptied while no pod ran looks like a first start: nothing tells them
   * apart, which is why a production Redis runs with persistence.
   */
  lostAtMs(): number | undefined;
  /** Checks once; resolves true when the store lost its data since the last check. */
  check(): Promise<boolean>;
}

/** A store that lives and dies with the process: never a loss to detect. */
export const PROCESS_EPOCH: StoreEpoch = { sinceMs: () => 0, lostAtMs: () => undefined, check: async () => false };
