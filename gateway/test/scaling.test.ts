import { describe, expect, it } from 'vitest';
import { token, type RunningGateway } from './helpers/gateway.js';
import { startPods } from './helpers/pods.js';
import { waitFor } from './helpers/wait.js';
import { TestClient } from './helpers/ws-client.js';

const readyz = async (pod: RunningGateway): Promise<number> => (await fetch(`${pod.managementUrl}/readyz`)).status;

describe('scaling', () => {
  it('after a scale-out, the crowded pod sheds its excess gradually with 4002, and stops near the mean', async () => {
    const pods = await startPods(1, { REBALANCE_INTERVAL_MS: '500', REBALANCE_MAX_PER_INTERVAL: '10', REBALANCE_TOLERANCE_PERCENT: '20' });
    try {
      const crowded = pods.pods[0]!;
      const fresh = await pods.add();
      // Everyone starts on the first pod (as before a scale-out); a shed client reconnects through
      // the load balancer, which here sends it to the new pod.
      const moved: TestClient[] = [];
      const shedTimes: number[] = [];
      const clients = await Promise.all(Array.from({ length: 60 }, async (_, i) => {
        const t = await token(`scale-${i}`, ['acme']);
        const client = await TestClient.established(crowded.wsUrl, t);
        void client.closed.then(async (code) => {
          if (code !== 4002) return;
          shedTimes.push(Date.now());
          moved.push(await TestClient.established(fresh.wsUrl, t));
        });
        return client;
      }));
      await waitFor(() => moved.length >= 25, 20_000, 'shedding towards the mean');
      await new Promise((r) => setTimeout(r, 2_000));
      expect(moved.length).toBeGreaterThanOrEqual(25);
      expect(moved.length).toBeLessThanOrEqual(35);
      expect(crowded.gateway.connections.size + fresh.gateway.connections.size).toBe(60);
      // Gradual: spread over several intervals of at most 10 closes each.
      shedTimes.sort((a, b) => a - b);
      expect(shedTimes[shedTimes.length - 1]! - shedTimes[0]!).toBeGreaterThan(1_000);
      await Promise.all([...clients, ...moved].map((c) => c.close()));
    } finally {
      await pods.stop();
    }
  }, 60_000);

  it('reports not ready at MAX_CONNECTIONS, keeps the open connections, and is ready again below the low watermark', async () => {
    const pods = await startPods(1, { MAX_CONNECTIONS: '10', MAX_CONNECTIONS_PER_USER: '10', CAPACITY_RESUME_PERCENT: '80' });
    try {
      const pod = pods.pods[0]!;
      const clients = await Promise.all(Array.from({ length: 10 }, async (_, i) => TestClient.established(pod.wsUrl, await token(`cap-${i}`, ['acme']))));
      expect(await readyz(pod)).toBe(503);
      await expect(TestClient.connect(pod.wsUrl, { token: await token('cap-extra', ['acme']) })).rejects.toMatchObject({ status: 503 });
      expect(clients.every((c) => c.closeCode === undefined)).toBe(true);
      await clients[0]!.close();
      await waitFor(() => pod.gateway.connections.size === 9, 2_000, 'one closed');
      expect(await readyz(pod)).toBe(503);
      await Promise.all(clients.slice(1, 3).map((c) => c.close()));
      await waitFor(() => pod.gateway.connections.size === 7, 2_000, 'below the watermark');
      expect(await readyz(pod)).toBe(200);
      await Promise.all(clients.map((c) => c.close()));
    } finally {
      await pods.stop();
    }
  });
});
