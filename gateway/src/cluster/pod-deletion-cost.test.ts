import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeKubeApi } from '../../test/harness/fake-kube-api.js';
import { waitFor } from '../../test/helpers/wait.js';
import { createPodDeletionCost, POD_DELETION_COST_ANNOTATION, type PodDeletionCost, type PodDeletionCostOptions } from './pod-deletion-cost.js';

const NS = 'orgcast';
const POD = 'orgcast-gateway-7d9f-abcde';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('pod deletion cost', () => {
  let api: FakeKubeApi;
  let cost: PodDeletionCost | undefined;
  let logs: Array<Record<string, unknown>>;

  beforeEach(async () => {
    api = await new FakeKubeApi().start();
    logs = [];
  });

  afterEach(async () => {
    await cost?.stop();
    cost = undefined;
    await api.close();
  });

  function start(options: Partial<PodDeletionCostOptions> = {}): PodDeletionCost {
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    cost = createPodDeletionCost({ kubeConfig: api.kubeConfig(), namespace: NS, podName: POD, logger, minIntervalMs: 0, ...options });
    return cost;
  }

  const written = (): string | undefined => api.podAnnotations.get(`${NS}/${POD}`)?.[POD_DELETION_COST_ANNOTATION];
  const patchedValues = (): string[] =>
    api.patchRequests().map((r) => (JSON.parse(r.body) as { metadata: { annotations: Record<string, string> } }).metadata.annotations[POD_DELETION_COST_ANNOTATION]!);

  it('writes the count as a JSON merge patch of its own pod annotation', async () => {
    start().update(42);
    await waitFor(() => written() === '42', 2_000, 'the annotation');
    const [request] = api.patchRequests();
    expect(request?.path).toBe(`/api/v1/namespaces/${NS}/pods/${POD}`);
    expect(request?.headers['content-type']).toBe('application/merge-patch+json');
    expect(request?.headers.authorization).toBe('Bearer fake-token');
    expect(JSON.parse(request!.body)).toEqual({ metadata: { annotations: { [POD_DELETION_COST_ANNOTATION]: '42' } } });
  });

  it('patches at most once per interval, then writes the latest value', async () => {
    const c = start({ minIntervalMs: 400 });
    c.update(5);
    await waitFor(() => written() === '5', 2_000, 'the first patch');
    for (const n of [6, 7, 8, 30]) c.update(n);
    await pause(150);
    expect(api.patchRequests()).toHaveLength(1);
    await waitFor(() => written() === '30', 2_000, 'the trailing patch');
    const [first, second] = api.patchRequests();
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(350);
    expect(patchedValues()).toEqual(['5', '30']);
  });

  it('skips changes too small to matter, but never a change to or from zero', async () => {
    const c = start({ minRelativeChange: 0.05 });
    c.update(100);
    await waitFor(() => written() === '100', 2_000, 'the first patch');
    c.update(104);
    c.update(97);
    await pause(100);
    expect(patchedValues()).toEqual(['100']);
    c.update(110);
    await waitFor(() => written() === '110', 2_000, 'a 10% change');
    c.update(0);
    await waitFor(() => written() === '0', 2_000, 'zero');
    c.update(1);
    await waitFor(() => written() === '1', 2_000, 'one after zero');
    c.update(1);
    await pause(50);
    expect(patchedValues()).toEqual(['100', '110', '0', '1']);
  });

  it('logs a failed patch instead of throwing, and retries after the interval', async () => {
    api.failNext((r) => r.method === 'PATCH', 403);
    const c = start({ minIntervalMs: 200 });
    expect(() => c.update(3)).not.toThrow();
    await waitFor(() => logs.some((l) => l.msg === 'cannot update the pod deletion cost'), 2_000, 'the warning');
    expect(written()).toBeUndefined();
    await waitFor(() => written() === '3', 2_000, 'the retry');
    expect(api.patchRequests()).toHaveLength(2);
  });

  it('after stop: no further patch, even one that was due', async () => {
    const c = start({ minIntervalMs: 200 });
    c.update(10);
    await waitFor(() => written() === '10', 2_000, 'the first patch');
    c.update(50);
    await c.stop();
    c.update(60);
    await pause(350);
    expect(patchedValues()).toEqual(['10']);
  });

  it('refuses bad options up front', () => {
    const base = { kubeConfig: api.kubeConfig(), namespace: NS, podName: POD, logger: pino({ level: 'silent' }) };
    expect(() => createPodDeletionCost({ ...base, podName: '' })).toThrow(TypeError);
    expect(() => createPodDeletionCost({ ...base, namespace: '' })).toThrow(TypeError);
    expect(() => createPodDeletionCost({ ...base, minIntervalMs: -1 })).toThrow(TypeError);
  });
});
