import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeKubeApi, type FakeEndpointSlice } from '../../test/harness/fake-kube-api.js';
import { waitFor } from '../../test/helpers/wait.js';
import { createKubernetesDiscovery, KubernetesDiscoveryError } from './kubernetes-discovery.js';
import type { PodDiscovery } from './pod-discovery.js';

const NS = 'orgcast';
const SERVICE = 'orgcast-gateway';

/** A slice of `service` whose endpoints are the given pods, each ready or not. */
function slice(name: string, pods: Record<string, boolean | undefined>, service = SERVICE): FakeEndpointSlice {
  return {
    metadata: { name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: Object.entries(pods).map(([pod, ready], i) => ({
      addresses: [`10.0.0.${i + 1}`],
      conditions: ready === undefined ? {} : { ready, serving: ready, terminating: false },
      targetRef: { kind: 'Pod', name: pod, namespace: NS },
    })),
  };
}

describe('Kubernetes EndpointSlice discovery', () => {
  let api: FakeKubeApi;
  let discovery: PodDiscovery | undefined;
  let seen: Array<readonly string[]>;

  beforeEach(async () => {
    api = await new FakeKubeApi().start();
    seen = [];
  });

  afterEach(async () => {
    await discovery?.stop();
    discovery = undefined;
    await api.close();
  });

  async function startDiscovery(): Promise<PodDiscovery> {
    discovery = createKubernetesDiscovery({
      kubeConfig: api.kubeConfig(),
      namespace: NS,
      serviceName: SERVICE,
      logger: pino({ level: 'silent' }),
      backoff: { minMs: 20, maxMs: 100 },
      requestTimeoutMs: 2_000,
    });
    await discovery.start((pods) => seen.push(pods));
    return discovery;
  }

  const latest = (): readonly string[] | undefined => seen[seen.length - 1];
  const becomes = (pods: string[], what: string) => waitFor(() => JSON.stringify(latest()) === JSON.stringify(pods), 5_000, what);

  it('starts with the ready pods of every slice of the service, and nothing else', async () => {
    api.applySlice(NS, slice('gw-a', { 'gw-1': true, 'gw-0': true, 'gw-9': false }));
    api.applySlice(NS, slice('gw-b', { 'gw-2': undefined, 'gw-0': true }));
    api.applySlice(NS, slice('other', { 'db-0': true }, 'other-service'));
    api.applySlice('elsewhere', slice('gw-c', { 'gw-x': true }));
    const notAPod = slice('gw-d', { 'gw-3': true });
    notAPod.endpoints.push({ addresses: ['10.0.0.9'], conditions: { ready: true } }, { addresses: ['10.0.0.8'], targetRef: { kind: 'Node', name: 'node-1' } });
    api.applySlice(NS, notAPod);

    await startDiscovery();

    // `start` resolves with the first set already delivered, exactly once.
    expect(seen).toEqual([['gw-0', 'gw-1', 'gw-2', 'gw-3']]);
    const [list] = api.listRequests();
    expect(list?.path).toBe(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`);
    expect(list?.query.get('labelSelector')).toBe(`kubernetes.io/service-name=${SERVICE}`);
    expect(list?.headers.authorization).toBe('Bearer fake-token');
    await waitFor(() => api.openWatches === 1, 2_000, 'the watch');
    expect(api.watchRequests()[0]?.query.get('resourceVersion')).toBeTruthy();
  });

  it('follows pods becoming ready and unready, and slices coming and going', async () => {
    api.applySlice(NS, slice('gw-a', { 'gw-0': true, 'gw-1': false }));
    await startDiscovery();
    expect(seen).toEqual([['gw-0']]);
    await waitFor(() => api.openWatches === 1, 2_000, 'the watch');

    api.applySlice(NS, slice('gw-a', { 'gw-0': true, 'gw-1': true }));
    await becomes(['gw-0', 'gw-1'], 'gw-1 ready');

    api.applySlice(NS, slice('gw-b', { 'gw-2': true, 'gw-1': true }));
    await becomes(['gw-0', 'gw-1', 'gw-2'], 'a second slice');

    // gw-1 unready in one slice but still ready in the other: unchanged, so no notification.
    const before = seen.length;
    api.applySlice(NS, slice('gw-a', { 'gw-0': false, 'gw-1': false }));
    await becomes(['gw-1', 'gw-2'], 'gw-0 unready');
    expect(seen.length).toBe(before + 1);

    api.deleteSlice(NS, 'gw-b');
    await becomes([], 'slice gw-b deleted');
    api.applySlice(NS, slice('other', { 'db-0': true }, 'other-service'));
    api.applySlice(NS, slice('gw-c', { 'gw-5': true }));
    await becomes(['gw-5'], 'a new slice');
    expect(seen.flat()).not.toContain('db-0');
    expect(api.listRequests()).toHaveLength(1);
  });

  it('resumes from the last resourceVersion when the server ends the watch, and retries failures', async () => {
    api.applySlice(NS, slice('gw-a', { 'gw-0': true }));
    await startDiscovery();
    await waitFor(() => api.openWatches === 1, 2_000, 'the watch');
    api.applySlice(NS, slice('gw-a', { 'gw-0': true, 'gw-1': true }));
    await becomes(['gw-0', 'gw-1'], 'gw-1 ready');
    const lastSeen = api.resourceVersion;

    // The next watch attempt fails once with a 500; the one after that succeeds.
    api.failNext((r) => r.query.get('watch') === 'true', 500);
    api.closeWatches();
    await waitFor(() => api.openWatches === 1 && api.watchRequests().length === 3, 3_000, 'the watch to be resumed');
    const resumed = api.watchRequests()[2]!;
    expect(resumed.query.get('resourceVersion')).toBe(lastSeen);
    expect(api.listRequests()).toHaveLength(1);

    api.applySlice(NS, slice('gw-a', { 'gw-1': true }));
    await becomes(['gw-1'], 'a change after the resumed watch');
  });

  it('re-lists when the resourceVersion has expired (410 Gone), in the stream or as the HTTP status', async () => {
    api.applySlice(NS, slice('gw-a', { 'gw-0': true }));
    api.applySlice(NS, slice('gw-b', { 'gw-1': true }));
    await startDiscovery();
    await waitFor(() => api.openWatches === 1, 2_000, 'the watch');

    // While the client is between watches, gw-b goes away and the API server forgets its history.
    api.holdWatches();
    api.closeWatches();
    await waitFor(() => api.heldWatches === 1, 2_000, 'the re-watch');
    api.deleteSlice(NS, 'gw-b');
    api.compact();
    api.releaseWatches();
    await becomes(['gw-0'], 'the re-listed set');
    expect(api.listRequests()).toHaveLength(2);
    await waitFor(() => api.openWatches === 1, 2_000, 'the watch after the re-list');

    // Some API servers answer the watch request itself with 410.
    api.failNext((r) => r.query.get('watch') === 'true', 410);
    api.closeWatches();
    await waitFor(() => api.listRequests().length === 3 && api.openWatches === 1, 3_000, 'a re-list after HTTP 410');
    api.applySlice(NS, slice('gw-b', { 'gw-2': true }));
    await becomes(['gw-0', 'gw-2'], 'changes after the second re-list');
  });

  it('fails to start when the first list is refused, naming the service', async () => {
    api.failNext((r) => r.method === 'GET', 403);
    const error = await startDiscovery().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KubernetesDiscoveryError);
    expect((error as Error).message).toContain(SERVICE);
    expect((error as Error).cause).toBeDefined();
    expect(seen).toEqual([]);
  });

  it('after stop: no watch left open and no more notifications', async () => {
    api.applySlice(NS, slice('gw-a', { 'gw-0': true }));
    const d = await startDiscovery();
    await waitFor(() => api.openWatches === 1, 2_000, 'the watch');
    await d.stop();
    await waitFor(() => api.openWatches === 0, 2_000, 'the watch to close');
    const watches = api.watchRequests().length;
    api.applySlice(NS, slice('gw-a', { 'gw-1': true }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual([['gw-0']]);
    expect(api.watchRequests()).toHaveLength(watches);
  });

  it('refuses bad options up front', () => {
    const base = { kubeConfig: api.kubeConfig(), namespace: NS, serviceName: SERVICE, logger: pino({ level: 'silent' }) };
    expect(() => createKubernetesDiscovery({ ...base, namespace: '' })).toThrow(TypeError);
    expect(() => createKubernetesDiscovery({ ...base, serviceName: 'Not_A_Service' })).toThrow(TypeError);
  });
});
