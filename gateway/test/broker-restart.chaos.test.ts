import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { token, type RunningGateway } from './helpers/gateway.js';
import { startPods, type Pods } from './helpers/pods.js';
import { waitFor } from './helpers/wait.js';
import { TestClient } from './helpers/ws-client.js';

const run = promisify(execFile);
const readyz = async (pod: RunningGateway): Promise<number> => (await fetch(`${pod.managementUrl}/readyz`)).status;

/**
 * Restarts the shared RabbitMQ node (stop_app / start_app): this runs in the chaos pass of
 * `npm test`, after the parallel suite and alone (vitest.chaos.config.ts).
 */
describe('RabbitMQ restart mid-stream', () => {
  let cluster: Pods;
  beforeAll(async () => {
    cluster = await startPods(2, { AMQP_RECONNECT_MAX_MS: '1000' });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('pods go not ready, recover by themselves, and nothing the broker accepted is lost', async () => {
    const clients = await Promise.all(cluster.pods.map(async (pod, i) => TestClient.established(pod.wsUrl, await token(`b-${i}`, ['broker-org']))));
    await cluster.publisher.tasks(Array.from({ length: 100 }, (_, n) => ({ organizationId: 'broker-org', data: { n } })));
    await Promise.all(clients.map((c) => c.waitForCount(undefined, 100)));
    // Confirmed by the broker just before it goes down: persistent, in the durable ingest queue.
    await cluster.publisher.tasks(Array.from({ length: 100 }, (_, n) => ({ organizationId: 'broker-org', data: { n: 100 + n } })));

    await cluster.publisher.close();
    await run('rabbitmqctl', ['stop_app']);
    try {
      await waitFor(async () => (await Promise.all(cluster.pods.map(readyz))).every((s) => s === 503), 10_000, 'not ready without the broker');
    } finally {
      await run('rabbitmqctl', ['start_app']);
      await run('rabbitmqctl', ['await_startup']);
    }
    await waitFor(async () => (await Promise.all(cluster.pods.map(readyz))).every((s) => s === 200), 30_000, 'ready again');
    await cluster.publisher.tasks(Array.from({ length: 100 }, (_, n) => ({ organizationId: 'broker-org', data: { n: 200 + n } })));

    for (const client of clients) {
      await client.waitForCount(undefined, 300, 20_000);
      expect(client.events().map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: 300 }, (_, n) => n));
      expect(client.closeCode).toBeUndefined();
    }
    await Promise.all(clients.map((c) => c.close()));
  }, 90_000);
});
