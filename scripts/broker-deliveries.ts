/**
 * Measures RabbitMQ deliveries per event for 1, 3 and 6 pods, with the members of each
 * organization spread over all pods and with organization affinity (all members of an
 * organization on one pod). Usage: npx tsx scripts/broker-deliveries.ts
 * Needs the local RabbitMQ and Redis; uses its own vhost and key prefix.
 */
import { token, type RunningGateway } from '../gateway/test/helpers/gateway.js';
import { metricValue, startPods } from '../gateway/test/helpers/pods.js';
import { waitFor } from '../gateway/test/helpers/wait.js';
import { TestClient } from '../gateway/test/helpers/ws-client.js';

const ORGANIZATIONS = 12;
const MEMBERS_PER_ORGANIZATION = 6;
const EVENTS = 1_200;

async function measure(podCount: number, layout: 'spread' | 'affinity'): Promise<{ routed: number; ingest: number }> {
  const cluster = await startPods(podCount, { LOG_LEVEL: 'silent' });
  try {
    const clients: TestClient[] = [];
    for (let org = 0; org < ORGANIZATIONS; org += 1) {
      for (let member = 0; member < MEMBERS_PER_ORGANIZATION; member += 1) {
        const pod = layout === 'spread' ? cluster.pods[member % podCount]! : cluster.pods[org % podCount]!;
        clients.push(await TestClient.established(pod.wsUrl, await token(`m-${org}-${member}`, [`org-${org}`])));
      }
    }
    const routed = async (): Promise<number> => (await Promise.all(cluster.pods.map((p: RunningGateway) => metricValue(p, /^orgcast_broker_deliveries_total\{pod="[^"]+"\} (\d+)/m)))).reduce((a, b) => a + b, 0);
    const consumed = async (): Promise<number> => (await Promise.all(cluster.pods.map((p: RunningGateway) => metricValue(p, /^orgcast_events_consumed_total\{event_type="task.event.created",pod="[^"]+"\} (\d+)/m)))).reduce((a, b) => a + b, 0);
    const [routedBefore, consumedBefore] = [await routed(), await consumed()];
    await cluster.publisher.tasks(Array.from({ length: EVENTS }, (_, i) => ({ organizationId: `org-${i % ORGANIZATIONS}`, data: { i } })));
    const perClient = EVENTS / ORGANIZATIONS;
    await waitFor(() => clients.every((c) => c.events().length >= perClient), 60_000, 'all delivered');
    const result = { routed: (await routed()) - routedBefore, ingest: (await consumed()) - consumedBefore };
    await Promise.all(clients.map((c) => c.close()));
    return result;
  } finally {
    await cluster.stop();
  }
}

const rows: string[] = ['| pods | members | broker deliveries per event (ingest + routed) |', '| --- | --- | --- |'];
for (const pods of [1, 3, 6]) {
  for (const layout of ['spread', 'affinity'] as const) {
    const { routed, ingest } = await measure(pods, layout);
    rows.push(`| ${pods} | ${layout} | ${((ingest + routed) / EVENTS).toFixed(2)} (${(ingest / EVENTS).toFixed(2)} + ${(routed / EVENTS).toFixed(2)}) |`);
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  }
}
process.stdout.write(`${ORGANIZATIONS} organizations × ${MEMBERS_PER_ORGANIZATION} members, ${EVENTS} events\n${rows.join('\n')}\n`);
