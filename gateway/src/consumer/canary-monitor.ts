/**
 * Tracks this pod's own readiness canaries: proof that a message published to the exchange
 * reaches the pod's queue and its consumer. Pure: time is passed in.
 *
 * Freshness is judged by the canary's send time, not its receipt: a canary that sat behind a
 * backlog proves that the path worked when it was sent, so a consumer lagging by more than the
 * window is not ready either. Canaries sent before the current connection was established are
 * ignored, so a stale one left in the queue cannot make a fresh connection ready.
 */
export interface CanaryMonitor {
  /** A new connection: not fresh until a canary sent from now on arrives. */
  reset(connectedAtMs: number): void;
  /** Returns false when the canary is older than the current connection and was ignored. */
  received(sentAtMs: number): boolean;
  isFresh(nowMs: number): boolean;
}

/** The window is two intervals plus a small slack for broker and event-loop latency. */
export function canaryWindowMs(intervalMs: number): number {
  return 2 * intervalMs + Math.min(1_000, Math.round(intervalMs / 2));
}

export function createCanaryMonitor(intervalMs: number): CanaryMonitor {
  const windowMs = canaryWindowMs(intervalMs);
  let connectedAtMs = Number.POSITIVE_INFINITY;
  let lastSentAtMs: number | undefined;
  return {
    reset(at) {
      connectedAtMs = at;
      lastSentAtMs = undefined;
    },
    received(sentAtMs) {
      if (sentAtMs < connectedAtMs) return false;
      lastSentAtMs = lastSentAtMs === undefined ? sentAtMs : Math.max(lastSentAtMs, sentAtMs);
      return true;
    },
    isFresh(nowMs) {
      return lastSentAtMs !== undefined && nowMs - lastSentAtMs <= windowMs;
    },
  };
}
