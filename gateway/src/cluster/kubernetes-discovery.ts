import { setTimeout as sleep } from 'node:timers/promises';
import { DiscoveryV1Api, Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../logging/logger.js';
import { backoffDelay, type BackoffPolicy } from '../retry/backoff.js';
import { abortableOptions, deadlineSignal } from './kube-request-options.js';
import type { PodDiscovery } from './pod-discovery.js';

export interface KubernetesDiscoveryOptions {
  /** `loadFromCluster()` inside a pod; tests point it at a fake API server. */
  readonly kubeConfig: KubeConfig;
  /** The namespace of the gateway's pods (POD_NAMESPACE). */
  readonly namespace: string;
  /** The gateway's headless Service: its EndpointSlices carry `kubernetes.io/service-name=<name>`. */
  readonly serviceName: string;
  readonly logger: Logger;
  /** Delays between failed attempts (list or watch). Default 500 ms .. 30 s. */
  readonly backoff?: BackoffPolicy;
  /** Deadline of one list request. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** The API server ends each watch after this long; the watch is then resumed. Default 300 s. */
  readonly watchTimeoutSeconds?: number;
}

export class KubernetesDiscoveryError extends Error {
  override readonly name = 'KubernetesDiscoveryError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What the gateway reads of an EndpointSlice (a `V1EndpointSlice`, or a watch event's raw JSON). */
interface SliceLike {
  metadata?: { name?: string; resourceVersion?: string };
  endpoints?: Array<{ conditions?: { ready?: boolean }; targetRef?: { kind?: string; name?: string } }> | null;
}

/** A watch that stayed open this long was healthy, even if the Service did not change meanwhile. */
const HEALTHY_WATCH_MS = 5_000;

interface WatchEnd {
  readonly kind: 'closed' | 'expired' | 'failed' | 'stopped';
  /** Whether the watch delivered an event or stayed open for HEALTHY_WATCH_MS: it was healthy. */
  readonly progressed: boolean;
  readonly error?: unknown;
}

/**
 * The live pods are the ready endpoints of the gateway's headless Service, read from its
 * EndpointSlices: a list, then a watch from the list's resourceVersion, resumed from the last seen
 * resourceVersion when the stream ends, and a fresh list when the API server answers 410 Gone
 * (the version is too old). Failures retry with jittered exponential backoff, forever, until
 * `stop()`. The pod set is the union over all slices of the Service of the `targetRef.name` of
 * endpoints whose `ready` condition is not false (unset means ready, as the API documents);
 * terminating pods are not ready, so a draining pod leaves the set.
 *
 * RBAC: get, list, watch on `endpointslices` (API group `discovery.k8s.io`) in the namespace.
 */
export function createKubernetesDiscovery(options: KubernetesDiscoveryOptions): PodDiscovery {
  const { kubeConfig, namespace, serviceName, logger } = options;
  if (namespace.length === 0) throw new TypeError('createKubernetesDiscovery: namespace must not be empty');
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(serviceName)) throw new TypeError(`createKubernetesDiscovery: "${serviceName}" is not a Service name`);
  const backoff = options.backoff ?? { minMs: 500, maxMs: 30_000 };
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;

  const api = kubeConfig.makeApiClient(DiscoveryV1Api);
  const watcher = new Watch(kubeConfig);
  const labelSelector = `kubernetes.io/service-name=${serviceName}`;
  const path = `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`;
  const stopping = new AbortController();
  /** Ready pod names by slice name. */
  const slices = new Map<string, readonly string[]>();
  let resourceVersion: string | undefined;
  let published: string | undefined;
  let onChange: ((pods: readonly string[]) => void) | undefined;
  let loop: Promise<void> | undefined;

  function publish(): void {
    if (stopping.signal.aborted || onChange === undefined) return;
    const pods = [...new Set([...slices.values()].flat())].sort();
    const key = pods.join('\n');
    if (key === published) return;
    published = key;
    try {
      onChange(pods);
    } catch (error) {
      logger.error({ err: error }, 'pod set listener failed');
    }
  }

  async function list(): Promise<void> {
    const result = await api.listNamespacedEndpointSlice({ namespace, labelSelector }, abortableOptions(deadlineSignal(stopping.signal, requestTimeoutMs)));
    if (stopping.signal.aborted) return;
    slices.clear();
    for (const slice of result.items) {
      const name = slice.metadata?.name;
      if (name !== undefined) slices.set(name, readyPods(slice));
    }
    resourceVersion = result.metadata?.resourceVersion || undefined;
    logger.debug({ slices: slices.size, resourceVersion }, 'listed EndpointSlices');
    publish();
  }

  function watchOnce(): Promise<WatchEnd> {
    return new Promise((resolve) => {
      const startedAt = Date.now();
      let progressed = false;
      let ended = false;
      let controller: AbortController | undefined;
      const finish = (kind: WatchEnd['kind'], error?: unknown): void => {
        if (ended) return;
        ended = true;
        stopping.signal.removeEventListener('abort', onStop);
        controller?.abort();
        resolve({ kind, progressed: progressed || Date.now() - startedAt >= HEALTHY_WATCH_MS, error });
      };
      const onStop = (): void => finish('stopped');
      if (stopping.signal.aborted) return finish('stopped');
      stopping.signal.addEventListener('abort', onStop);

      const onEvent = (type: string, object: unknown): void => {
        if (ended) return;
        if (type === 'ERROR') {
          const code = statusCode(object);
          if (code === 410) finish('expired');
          else finish('failed', new KubernetesDiscoveryError(`EndpointSlice watch error event (code ${code ?? 'unknown'}): ${statusMessage(object)}`));
          return;
        }
        const slice = asSlice(object);
        if (slice === undefined) return;
        const name = slice.metadata?.name;
        if (type === 'ADDED' || type === 'MODIFIED') {
          if (name !== undefined) slices.set(name, readyPods(slice));
        } else if (type === 'DELETED') {
          if (name !== undefined) slices.delete(name);
        } else if (type !== 'BOOKMARK') {
          return;
        }
        progressed = true;
        const version = slice.metadata?.resourceVersion;
        if (version !== undefined && version.length > 0) resourceVersion = version;
        publish();
      };
      const onDone = (error: unknown): void => {
        if (error === null || error === undefined) finish('closed');
        else if (statusCode(error) === 410) finish('expired');
        else finish('failed', error);
      };
      void watcher
        .watch(path, { labelSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds }, onEvent, onDone)
        .then(
          (started) => {
            controller = started;
            if (ended) started.abort();
          },
          (error: unknown) => finish('failed', error),
        );
    });
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      let end: WatchEnd;
      try {
        if (resourceVersion === undefined) await list();
        end = await watchOnce();
      } catch (error) {
        end = { kind: stopping.signal.aborted ? 'stopped' : 'failed', progressed: false, error };
      }
      if (end.kind === 'stopped') return;
      if (end.progressed) failures = 0;
      if (end.kind === 'closed' && end.progressed) {
        logger.debug({ resourceVersion }, 'EndpointSlice watch ended: resuming');
        continue;
      }
      failures += 1;
      let delayMs = backoffDelay(failures, backoff);
      if (end.kind === 'expired') {
        resourceVersion = undefined;
        // The first 410 is routine (the API server compacted its history): re-list at once.
        if (failures === 1) delayMs = 0;
        logger.info({ delayMs }, 'EndpointSlice watch expired (410 Gone): re-listing');
      } else if (end.kind === 'failed') {
        logger.warn({ err: end.error, attempt: failures, delayMs }, 'EndpointSlice list/watch failed: retrying');
      } else {
        logger.debug({ delayMs }, 'EndpointSlice watch closed without events: retrying');
      }
      try {
        if (delayMs > 0) await sleep(delayMs, undefined, { signal: stopping.signal });
      } catch (error) {
        if (!stopping.signal.aborted) throw error;
      }
    }
  }

  return {
    async start(listener) {
      if (onChange !== undefined) throw new KubernetesDiscoveryError('kubernetes discovery already started');
      if (stopping.signal.aborted) throw new KubernetesDiscoveryError('kubernetes discovery stopped');
      onChange = listener;
      try {
        await list();
      } catch (error) {
        throw new KubernetesDiscoveryError(`cannot list the EndpointSlices of Service ${serviceName} in namespace ${namespace}`, { cause: error });
      }
      loop = run().catch((error: unknown) => {
        logger.error({ err: error }, 'EndpointSlice discovery stopped unexpectedly');
      });
    },
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}

function readyPods(slice: SliceLike): string[] {
  const pods: string[] = [];
  for (const endpoint of slice.endpoints ?? []) {
    if (endpoint.conditions?.ready === false) continue;
    const ref = endpoint.targetRef;
    if (ref?.kind === 'Pod' && typeof ref.name === 'string' && ref.name.length > 0) pods.push(ref.name);
  }
  return pods;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function asSlice(object: unknown): SliceLike | undefined {
  if (!isRecord(object) || !isRecord(object.metadata)) return undefined;
  if (object.endpoints !== undefined && object.endpoints !== null && !Array.isArray(object.endpoints)) return undefined;
  return object as SliceLike;
}

/** The HTTP status of a watch error: a `Status` object's `code`, or an Error's `statusCode`/`code`. */
function statusCode(value: unknown): number | undefined {
  if (!isRecord(value)) return undefined;
  for (const field of ['code', 'statusCode']) {
    const code = value[field];
    if (typeof code === 'number') return code;
  }
  return undefined;
}

function statusMessage(value: unknown): string {
  return isRecord(value) && typeof value.message === 'string' ? value.message : 'no message';
}
