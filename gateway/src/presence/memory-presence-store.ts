import { assertCount, assertPod, assertPresenceOptions, assertUser, type PresenceOptions } from './presence-options.js';
import type { PresenceStore } from './presence-store.js';

export type MemoryPresenceStoreOptions = PresenceOptions;

/**
 * PresenceStore for a single pod (embedded mode and tests), with the Redis store's semantics: a pod
 * is alive while its last heartbeat is younger than `podTtlMs`; a pod that reserves before its first
 * heartbeat is registered as if it had just heartbeated (so it can be reaped if it dies); a reserving
 * pod always counts its own connections, alive or not.
 */
export function createMemoryPresenceStore(options: MemoryPresenceStoreOptions): PresenceStore {
  assertPresenceOptions(options);
  const { podTtlMs } = options;
  const now = options.now ?? Date.now;
  const heartbeats = new Map<string, number>();
  const reported = new Map<string, number>();
  const usersByPod = new Map<string, Map<string, number>>();
  const podsByUser = new Map<string, Map<string, number>>();

  const isAlive = (pod: string, t: number): boolean => {
    const at = heartbeats.get(pod);
    return at !== undefined && at > t - podTtlMs;
  };

  const removePod = (pod: string): void => {
    for (const userId of usersByPod.get(pod)?.keys() ?? []) adjust(podsByUser, userId, pod, -Infinity);
    usersByPod.delete(pod);
    heartbeats.delete(pod);
    reported.delete(pod);
  };

  return {
    async heartbeat(pod, connections) {
      assertPod(pod);
      assertCount('connections', connections);
      heartbeats.set(pod, Math.floor(now()));
      reported.set(pod, connections);
    },

    async livePods() {
      const t = Math.floor(now());
      const live = new Map<string, number>();
      for (const pod of heartbeats.keys()) if (isAlive(pod, t)) live.set(pod, reported.get(pod) ?? 0);
      return live;
    },

    async deadPods() {
      const t = Math.floor(now());
      return [...heartbeats.keys()].filter((pod) => !isAlive(pod, t));
    },

    async tryReserve(pod, userId, limit) {
      assertPod(pod);
      assertUser(userId);
      assertCount('limit', limit);
      const t = Math.floor(now());
      let total = 0;
      for (const [p, count] of podsByUser.get(userId) ?? []) if (p === pod || isAlive(p, t)) total += count;
      if (total >= limit) return false;
      if (!heartbeats.has(pod)) heartbeats.set(pod, t);
      adjust(usersByPod, pod, userId, 1);
      adjust(podsByUser, userId, pod, 1);
      return true;
    },

    async restore(pod, connections) {
      assertPod(pod);
      for (const [userId, count] of connections) {
        assertUser(userId);
        assertCount('count', count);
        adjust(usersByPod, pod, userId, count - (usersByPod.get(pod)?.get(userId) ?? 0));
        adjust(podsByUser, userId, pod, count - (podsByUser.get(userId)?.get(pod) ?? 0));
      }
    },

    async release(pod, userId) {
      assertPod(pod);
      assertUser(userId);
      adjust(usersByPod, pod, userId, -1);
      adjust(podsByUser, userId, pod, -1);
    },

    async connectionsOf(userId) {
      assertUser(userId);
      const t = Math.floor(now());
      const result = new Map<string, number>();
      for (const [pod, count] of podsByUser.get(userId) ?? []) if (isAlive(pod, t)) result.set(pod, count);
      return result;
    },

    async removePod(pod) {
      assertPod(pod);
      removePod(pod);
    },

    async reapDeadPod(pod) {
      assertPod(pod);
      if (isAlive(pod, Math.floor(now()))) return false;
      removePod(pod);
      return true;
    },

    async close() {
      heartbeats.clear();
      reported.clear();
      usersByPod.clear();
      podsByUser.clear();
    },
  };
}

/** Adds `delta` to `outer[a][b]`, deleting the count at zero or below and the inner map when empty. */
function adjust(outer: Map<string, Map<string, number>>, a: string, b: string, delta: number): void {
  const inner = outer.get(a) ?? new Map<string, number>();
  const next = (inner.get(b) ?? 0) + delta;
  if (next > 0) inner.set(b, next);
  else inner.delete(b);
  if (inner.size > 0) outer.set(a, inner);
  else outer.delete(a);
}
