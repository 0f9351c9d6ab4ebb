import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../logging/logger.js';
import { abortableOptions, deadlineSignal } from './kube-request-options.js';

export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

export interface PodDeletionCostOptions {
  /** `loadFromCluster()` inside a pod; tests point it at a fake API server. */
  readonly kubeConfig: KubeConfig;
  /** POD_NAMESPACE. */
  readonly namespace: string;
  /** POD_NAME: the pod this process runs in. */
  readonly podName: string;
  readonly logger: Logger;
  /** At most one patch per this interval. Default 10 s. */
  readonly minIntervalMs?: number;
  /** A change smaller than this fraction of the last written value is not worth a patch (changes to or from 0 always are). Default 0.05. */
  readonly minRelativeChange?: number;
  /** Deadline of one patch request. Default 5 s. */
  readonly requestTimeoutMs?: number;
}

export interface PodDeletionCost {
  /** Reports the live connection count; written to the annotation when due. Never throws. */
  update(connections: number): void;
  /** No patch starts after this; one in flight is aborted and awaited. */
  stop(): Promise<void>;
}

const INT32_MAX = 2_147_483_647;

/**
 * Keeps the annotation `controller.kubernetes.io/pod-deletion-cost` of this pod equal to its live
 * connection count, so that a ReplicaSet scaling in removes the pods with the fewest connections
 * first. A JSON merge patch on the pod, at most once per `minIntervalMs`, and only when the count
 * moved by a meaningful amount; the latest value is written when the interval allows (trailing
 * edge). Failures are logged and retried at the next interval, never thrown.
 *
 * RBAC: patch on `pods` (core API group) in the namespace.
 */
export function createPodDeletionCost(options: PodDeletionCostOptions): PodDeletionCost {
  const { kubeConfig, namespace, podName, logger } = options;
  const minIntervalMs = options.minIntervalMs ?? 10_000;
  const minRelativeChange = options.minRelativeChange ?? 0.05;
  const requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
  if (namespace.length === 0) throw new TypeError('createPodDeletionCost: namespace must not be empty');
  if (podName.length === 0) throw new TypeError('createPodDeletionCost: podName must not be empty');
  if (!Number.isFinite(minIntervalMs) || minIntervalMs < 0) throw new TypeError('createPodDeletionCost: minIntervalMs must be >= 0');
  if (!(minRelativeChange >= 0 && minRelativeChange < 1)) throw new TypeError('createPodDeletionCost: minRelativeChange must be in [0, 1)');

  const api = kubeConfig.makeApiClient(CoreV1Api);
  const stopping = new AbortController();
  let latest: number | undefined;
  let written: number | undefined;
  let lastAttemptAt = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  function worthWriting(value: number): boolean {
    if (written === undefined) return true;
    if (value === written) return false;
    if (value === 0 || written === 0) return true;
    return Math.abs(value - written) >= Math.max(1, written * minRelativeChange);
  }

  function schedule(): void {
    if (stopping.signal.aborted || inFlight !== undefined || timer !== undefined) return;
    if (latest === undefined || !worthWriting(latest)) return;
    const waitMs = Math.max(0, lastAttemptAt + minIntervalMs - Date.now());
    timer = setTimeout(flush, waitMs);
    timer.unref();
  }

  function flush(): void {
    timer = undefined;
    if (stopping.signal.aborted || latest === undefined || !worthWriting(latest)) return;
    const value = latest;
    lastAttemptAt = Date.now();
    inFlight = patch(value)
      .then(
        () => {
          written = value;
          logger.debug({ podDeletionCost: value }, 'pod deletion cost updated');
        },
        (error: unknown) => {
          if (!stopping.signal.aborted) logger.warn({ err: error, podDeletionCost: value, retryInMs: minIntervalMs }, 'cannot update the pod deletion cost');
        },
      )
      .finally(() => {
        inFlight = undefined;
        schedule();
      });
  }

  async function patch(value: number): Promise<void> {
    await api.patchNamespacedPod(
      { namespace, name: podName, body: { metadata: { annotations: { [POD_DELETION_COST_ANNOTATION]: String(value) } } } },
      abortableOptions(deadlineSignal(stopping.signal, requestTimeoutMs), setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
    );
  }

  return {
    update(connections) {
      if (!Number.isFinite(connections)) return;
      latest = Math.min(INT32_MAX, Math.max(0, Math.round(connections)));
      schedule();
    },
    async stop() {
      stopping.abort();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
