import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient, type ClientStatus, type OrgcastClient } from '../../client/src/index.js';
import { FakePollServer } from '../../client/src/testing/fake-fetch.js';
import { FakeWebSocketServer } from '../../client/src/testing/fake-websocket.js';
import { TEST_SECRET, token } from '../../gateway/test/helpers/gateway.js';
import { startCluster, type Cluster } from '../../gateway/test/harness/cluster.js';
import { ROUTED, findObject, renderChart, type K8sObject } from './support/helm.js';

/**
 * The chart's load balancers hash on `stickiness`; only a key the SDK sends keeps anything sticky.
 * These tests read the key from the rendered chart and check the SDK sends it: on the WebSocket
 * upgrade and on every poll, stable across reconnects, and through a real consistent-hashing proxy.
 */
describe('stickiness: the chart hashes on what the SDK sends', () => {
  /** With the default stickiness, and the HTTPRoute (+ Envoy Gateway policy) on. */
  let defaults: K8sObject[];
  let withIngress: K8sObject[];
  let key: string;

  beforeAll(async () => {
    [defaults, withIngress] = await Promise.all([renderChart({ set: ROUTED }), renderChart({ set: { 'ingress.enabled': 'true' } })]);
    const hash = findObject(defaults, 'BackendTrafficPolicy').spec as { loadBalancer: { consistentHash: { type: string; queryParams?: { name: string }[] } } };
    expect(hash.loadBalancer.consistentHash.type).toBe('QueryParams');
    key = hash.loadBalancer.consistentHash.queryParams?.[0]?.name ?? '';
    expect(key).not.toBe('');
  });

  it('the Ingress hashes on the same query parameter as the Envoy Gateway policy', () => {
    const ingress = findObject(withIngress, 'Ingress');
    expect(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/upstream-hash-by']).toBe(`$arg_${key}`);
  });

  describe('the SDK (scripted transports)', () => {
    const clients: OrgcastClient[] = [];
    beforeAll(() => {
      vi.useFakeTimers();
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      vi.useRealTimers();
    });
    const flush = (ms = 0): Promise<unknown> => vi.advanceTimersByTimeAsync(ms);

    it('sends the key on every WebSocket attempt, the same across reconnects, a new one after a rebalance close (4002)', async () => {
      const ws = new FakeWebSocketServer();
      clients.push(createClient({ url: 'https://rt.example.com', getToken: () => 't', WebSocket: ws.WebSocket, polling: false, random: Math.random }));
      await flush();
      const first = ws.last.query.get(key);
      expect(first).toMatch(/^[A-Za-z0-9_-]{8,}$/);
      ws.last.establish(['acme']);
      ws.last.closed(1006);
      await flush(1_000);
      expect(ws.sockets).toHaveLength(2);
      expect(ws.last.query.get(key)).toBe(first);
      ws.last.establish(['acme']);
      ws.last.closed(4002, 'rebalancing: reconnect');
      await flush(1_000);
      expect(ws.sockets).toHaveLength(3);
      const afterRebalance = ws.last.query.get(key);
      expect(afterRebalance).toMatch(/^[A-Za-z0-9_-]{8,}$/);
      expect(afterRebalance).not.toBe(first);
    });

    it('sends it on every poll, and an explicit affinityKey always', async () => {
      const ws = new FakeWebSocketServer();
      const polls = new FakePollServer();
      clients.push(createClient({ url: 'https://rt.example.com', getToken: () => 't', WebSocket: ws.WebSocket, fetch: polls.fetch, pollingAfterFailures: 0, affinityKey: 'user-alice' }));
      await flush();
      expect(polls.last.url.searchParams.get(key)).toBe('user-alice');
      polls.last.respond(200, { events: [], resume: '', organizations: ['acme'] });
      await flush();
      expect(polls.requests.length).toBeGreaterThanOrEqual(2);
      expect(polls.requests.map((r) => r.url.searchParams.get(key))).toEqual(polls.requests.map(() => 'user-alice'));
    });
  });

  describe('through nginx hashing on the Ingress annotation (real gateways, the real SDK)', () => {
    let cluster: Cluster | undefined;
    const clients: OrgcastClient[] = [];
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await cluster?.stop();
    }, 30_000);

    async function podOf(affinityKey: string): Promise<string> {
      const userToken = await token(`user-${affinityKey}`, ['acme']);
      const client = createClient({ url: cluster!.url, getToken: () => userToken, WebSocket: WebSocket as never, polling: false, affinityKey });
      clients.push(client);
      const connected = await new Promise<Extract<ClientStatus, { type: 'connected' }>>((resolve) => {
        client.onStatus((status) => {
          if (status.type === 'connected') resolve(status);
        });
      });
      await client.close();
      return connected.pod;
    }

    it('one key lands on one pod; different keys spread over the pods', { timeout: 60_000 }, async () => {
      const hashKey = findObject(withIngress, 'Ingress').metadata.annotations?.['nginx.ingress.kubernetes.io/upstream-hash-by'] ?? '';
      cluster = await startCluster({ pods: 2, hashKey, env: { JWT_SECRET: TEST_SECRET, CONNECT_RATE_BURST: '1000', DRAIN_WINDOW_MS: '200', SHUTDOWN_TIMEOUT_MS: '3000' } });
      const pods = new Set(cluster.pods.map((p) => p.name));
      const same = await Promise.all([podOf('k-same'), podOf('k-same'), podOf('k-same')]);
      expect(new Set(same).size).toBe(1);
      const spread = new Set<string>();
      for (let i = 0; i < 30 && spread.size < pods.size; i += 1) spread.add(await podOf(`k-${i}`));
      expect(spread).toEqual(pods);
    });
  });
});
