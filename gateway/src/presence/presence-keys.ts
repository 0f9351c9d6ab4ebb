/**
 * Redis keys of presence. All carry the hash tag `{presence}` so a Redis Cluster keeps them in one
 * slot: the scripts read a user's pods and those pods' heartbeats together.
 */
export function presenceKeys(keyPrefix: string) {
  const base = `${keyPrefix}{presence}:`;
  return {
    /** ZSET pod -> time of its last heartbeat (ms). */
    pods: `${base}pods`,
    /** HASH pod -> connection count it last reported. */
    connections: `${base}connections`,
    /** Prefix of the HASH user -> connection count, per pod. */
    podPrefix: `${base}pod:`,
    /** Prefix of the HASH pod -> connection count, per user. */
    userPrefix: `${base}user:`,
    pod: (pod: string): string => `${base}pod:${pod}`,
    user: (userId: string): string => `${base}user:${userId}`,
  };
}
