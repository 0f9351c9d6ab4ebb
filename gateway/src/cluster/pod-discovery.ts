/**
 * The source of the live pod set that the pod ring is built from (Redis heartbeats, or inside
 * Kubernetes the EndpointSlices of the gateway's headless Service).
 *
 * Guarantees of every implementation:
 * - `start` resolves once the first pod set is known and has been passed to `onChange`; it
 *   rejects when that first read fails (a misconfiguration shows up at start-up). After that,
 *   failures are retried with backoff in the background and never reach the caller.
 * - `onChange` receives the whole set, sorted and without duplicates, and only when it changed.
 * - After `stop` resolves, `onChange` is not called again.
 */
export interface PodDiscovery {
  start(onChange: (pods: readonly string[]) => void): Promise<void>;
  stop(): Promise<void>;
}
