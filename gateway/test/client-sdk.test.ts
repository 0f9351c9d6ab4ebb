import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClientOptions, type ClientStatus, type OrganizationEvent, type OrgcastClient, type ResyncNotice } from '../../client/src/index.js';
import { freePort } from './harness/free-port.js';
import { startGateway, TEST_SECRET, token, type RunningGateway } from './helpers/gateway.js';
import { spawnGateway, type GatewayProcess } from './helpers/gateway-process.js';
import { startPods, type Pods } from './helpers/pods.js';
import { waitFor } from './helpers/wait.js';

/** The SDK (client/src) against real gateways: the wire as the browser demo uses it, from Node with `ws`. */

interface Recorder {
  readonly client: OrgcastClient<{ seq: number }>;
  readonly statuses: ClientStatus[];
  readonly events: OrganizationEvent[];
  readonly resyncs: ResyncNotice[];
}

const clients: Recorder[] = [];

function record(options: ClientOptions): Recorder {
  const client = createClient<{ seq: number }>({ baseDelayMs: 50, maxDelayMs: 200, ...options });
  const recorder: Recorder = { client, statuses: [], events: [], resyncs: [] };
  client.onStatus((s) => recorder.statuses.push(s));
  client.on('*', (e) => recorder.events.push(e));
  client.on('resync', (n) => recorder.resyncs.push(n));
  clients.push(recorder);
  return recorder;
}

const seqs = (events: OrganizationEvent[], organization?: string): number[] =>
  events.filter((e) => organization === undefined || e.organization_id === organization).map((e) => (e.data as { seq: number }).seq);
const kinds = (statuses: ClientStatus[]): string[] => statuses.map((s) => s.type);
const org = (name: string): string => `${name}-${randomBytes(3).toString('hex')}`;

afterEach(async () => {
  await Promise.all(clients.splice(0).map((r) => r.client.close()));
});

describe('client SDK against an embedded gateway', () => {
  let gw: RunningGateway;
  let publisher: string;

  beforeAll(async () => {
    gw = await startGateway();
    publisher = await token('task-service', [], { scopes: ['events:publish'] });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  async function publish(organizationId: string, seq: number, eventType = 'task.event.created'): Promise<void> {
    const response = await fetch(`${gw.httpUrl}/api/dev/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${publisher}` },
      body: JSON.stringify({ event_type: eventType, organization_id: organizationId, data: { seq } }),
    });
    expect(response.status).toBe(202);
  }

  it('connects, reports its status and hands each organization\'s events to typed listeners', async () => {
    const acme = org('acme');
    const globex = org('globex');
    const alice = await token('alice', [acme]);
    const r = record({ url: gw.httpUrl, getToken: () => alice, WebSocket });
    const created: number[] = [];
    const updated: number[] = [];
    r.client.on('task.event.created', (e) => created.push(e.data.seq));
    r.client.on('task.event.updated', (e) => updated.push(e.data.seq));
    await waitFor(() => r.client.status.type === 'connected', 5_000, 'connected');
    expect(r.client.status).toMatchObject({ type: 'connected', transport: 'websocket', userId: 'alice', organizations: [acme] });
    await publish(acme, 1);
    await publish(globex, 2);
    await publish(acme, 3, 'task.event.updated');
    await waitFor(() => r.events.length === 2, 5_000, 'two events');
    expect(created).toEqual([1]);
    expect(updated).toEqual([3]);
    expect(r.events.every((e) => e.organization_id === acme)).toBe(true);
    expect(r.client.resumeCursor()).toBe(`${acme}:${r.events[1]!.id}`);
    await r.client.close();
    expect(kinds(r.statuses)).toEqual(['connecting', 'connected', 'closed']);
  });

  it('falls back to /api/poll when WebSockets are blocked, and upgrades back without losing or repeating an event', async () => {
    const acme = org('acme');
    const bob = await token('bob', [acme]);
    let blocked = true;
    // A proxy that refuses WebSocket upgrades: the upgrade goes to a path the gateway answers with 404.
    class BlockableWebSocket extends WebSocket {
      constructor(url: string) {
        super(blocked ? url.replace('/api/ws', '/api/blocked') : url);
      }
    }
    const r = record({ url: gw.httpUrl, getToken: () => bob, WebSocket: BlockableWebSocket, pollingAfterFailures: 2, upgradeIntervalMs: 400, pollTimeoutMs: 5_000 });
    await waitFor(() => r.client.status.type === 'polling', 5_000, 'polling');
    expect(kinds(r.statuses)).toEqual(['connecting', 'reconnecting', 'connecting', 'connecting', 'polling']);
    for (let seq = 1; seq <= 5; seq += 1) await publish(acme, seq);
    await waitFor(() => r.events.length === 5, 5_000, 'five events through polling');
    expect(r.client.status.type).toBe('polling');

    // Unblock while events keep flowing: the upgrade resumes from the poll cursor.
    blocked = false;
    let seq = 5;
    while (r.client.status.type !== 'connected') {
      seq += 1;
      await publish(acme, seq);
      await new Promise((resolve) => setTimeout(resolve, 25));
      if (seq > 400) throw new Error('no upgrade to WebSocket');
    }
    for (let i = 0; i < 5; i += 1) await publish(acme, ++seq);
    await waitFor(() => r.events.length >= seq, 5_000, `${seq} events`);
    expect(seqs(r.events)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    expect(r.resyncs, JSON.stringify(r.resyncs) + JSON.stringify(r.statuses)).toEqual([]);
    expect(kinds(r.statuses).slice(-2)).toEqual(['polling', 'connected']);
  });

  it('stops for good when the token is refused for another origin (403), without retrying', async () => {
    const strict = await startGateway({ ALLOWED_ORIGINS: 'https://app.example.com' });
    try {
      const carol = await token('carol', [org('acme')]);
      const r = record({ url: strict.httpUrl, getToken: () => carol, WebSocket, polling: false });
      await waitFor(() => r.client.status.type === 'closed', 5_000, 'closed');
      expect(r.client.status).toMatchObject({ type: 'closed', reason: 'terminal', error: { name: 'ConnectError', httpStatus: 403 } });
    } finally {
      await strict.stop();
    }
  });
});

describe('client SDK across a gateway kill (RabbitMQ + Redis history)', () => {
  let pods: Pods;
  let port: number;
  let env: Record<string, string>;
  let podA: GatewayProcess | undefined;

  beforeAll(async () => {
    pods = await startPods(1);
    port = await freePort();
    env = { ...pods.env, JWT_SECRET: TEST_SECRET, PORT: String(port), POD_NAME: `sdk-a-${randomBytes(3).toString('hex')}`, LOG_LEVEL: 'info' };
    podA = await spawnGateway(env);
  }, 60_000);
  afterAll(async () => {
    if (podA !== undefined && podA.child.exitCode === null && podA.child.signalCode === null) {
      podA.kill('SIGKILL');
      await podA.exited;
    }
    await pods?.stop();
  });

  it('reconnects after kill -9 and a restart, and receives the events published meanwhile exactly once', async () => {
    const x = org('x');
    const y = org('y');
    const dave = await token('dave', [x, y]);
    const r = record({ url: `http://127.0.0.1:${port}`, getToken: () => dave, WebSocket, polling: false });
    await waitFor(() => r.client.status.type === 'connected', 10_000, 'connected');
    await pods.publisher.task(x, { seq: 1 });
    await pods.publisher.task(y, { seq: 2 });
    await waitFor(() => r.events.length === 2, 10_000, 'first events');

    podA!.kill('SIGKILL');
    await podA!.exited;
    await waitFor(() => r.client.status.type === 'reconnecting', 5_000, 'reconnecting');
    await pods.publisher.task(x, { seq: 3 });
    await pods.publisher.task(y, { seq: 4 });
    await pods.publisher.task(x, { seq: 5 });
    // The surviving pod has sequenced them into the shared history: its /api/poll shows them.
    const pod = pods.pods[0]!;
    await waitFor(async () => {
      const answer = await fetch(`${pod.httpUrl}/api/poll?timeout_ms=0&resume=${encodeURIComponent(r.client.resumeCursor()!)}`, { headers: { authorization: `Bearer ${dave}` } });
      return ((await answer.json()) as { events: unknown[] }).events.length === 3;
    }, 10_000, 'events in history');
    expect(r.events).toHaveLength(2);

    podA = await spawnGateway(env);
    await waitFor(() => r.events.length === 5, 10_000, 'replayed events');
    expect(r.client.status.type).toBe('connected');
    await pods.publisher.task(y, { seq: 6 });
    await waitFor(() => r.events.length === 6, 10_000, 'live event after the restart');

    expect(seqs(r.events, x)).toEqual([1, 3, 5]);
    expect(seqs(r.events, y)).toEqual([2, 4, 6]);
    expect(new Set(r.events.map((e) => `${e.organization_id} ${e.id}`)).size).toBe(6);
    expect(r.resyncs, JSON.stringify(r.resyncs) + JSON.stringify(r.statuses)).toEqual([]);
    const sequence = kinds(r.statuses);
    expect(sequence.filter((k) => k === 'connected')).toHaveLength(2);
    expect(sequence).toContain('reconnecting');
  }, 60_000);
});
