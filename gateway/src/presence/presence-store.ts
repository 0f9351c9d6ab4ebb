/**
 * Who is connected where, shared by all pods.
 *
 * Guarantees:
 * - a pod's entries count only while the pod is alive (its heartbeat is younger than `podTtlMs`);
 *   a pod killed without cleanup stops counting within `podTtlMs`, and its entries are removed by
 *   `reapDeadPod` (called by the ring owner of the dead pod);
 * - `tryReserve` is atomic across pods: the cluster-wide count of a user's connections never exceeds
 *   `limit` through concurrent reservations.
 */
export interface PresenceStore {
  /** Marks this pod alive now, with its current connection count. */
  heartbeat(pod: string, connections: number): Promise<void>;
  /** Pods whose heartbeat is younger than the TTL, with their last reported connection counts. */
  livePods(): Promise<ReadonlyMap<string, number>>;
  /** Pods whose heartbeat expired but whose entries are still stored. */
  deadPods(): Promise<readonly string[]>;
  /** Atomically: if the user's connections on live pods < limit, count one more on `pod` and return true. */
  tryReserve(pod: string, userId: string, limit: number): Promise<boolean>;
  /** Counts one connection less for the user on `pod`. */
  release(pod: string, userId: string): Promise<void>;
  /** The user's connections per live pod. */
  connectionsOf(userId: string): Promise<ReadonlyMap<string, number>>;
  /** Sets `pod`'s count of every user again (after the store lost its data): `connections` is the pod's own view. */
  restore(pod: string, connections: ReadonlyMap<string, number>): Promise<void>;
  /** Removes every entry of `pod` (graceful shutdown, or reaping a dead pod). */
  removePod(pod: string): Promise<void>;
  /**
   * `removePod` only if the pod is not alive at this moment, atomically: a pod that heartbeats again
   * between `deadPods` and this call keeps its entries. True when the pod was not alive (its entries,
   * if any, are gone); false when it is alive (nothing changed).
   */
  reapDeadPod(pod: string): Promise<boolean>;
  close(): Promise<void>;
}
