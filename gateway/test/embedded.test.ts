import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, token, type RunningGateway } from './helpers/gateway.js';
import { TestClient } from './helpers/ws-client.js';

async function post(gw: RunningGateway, body: unknown, bearer?: string): Promise<{ status: number; body: { error?: string } }> {
  const response = await fetch(`${gw.httpUrl}/api/dev/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer !== undefined && { authorization: `Bearer ${bearer}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { error?: string } };
}

describe('embedded single-node gateway (no Redis, no RabbitMQ)', () => {
  let gw: RunningGateway;
  let publisher: string;

  beforeAll(async () => {
    gw = await startGateway();
    publisher = await token('task-service', [], { scopes: ['events:publish'] });
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('routes each organization\'s events to its members only, serialised once', async () => {
    const alice = await TestClient.established(gw.wsUrl, await token('alice', ['acme']));
    const bob = await TestClient.established(gw.wsUrl, await token('bob', ['acme', 'globex']));
    const carol = await TestClient.established(gw.wsUrl, await token('carol', ['initech']));
    const established = alice.frames[0]!;
    expect(established.event_type).toBe('connection.established');
    expect(established.data).toMatchObject({ user_id: 'alice', organizations: ['acme'], heartbeat_interval_ms: 25_000 });

    expect((await post(gw, { event_type: 'task.event.created', organization_id: 'acme', data: { id: 't1', title: 'Write docs' } }, publisher)).status).toBe(202);
    expect((await post(gw, { event_type: 'task.event.updated', organization_id: 'globex', data: { id: 't2', done: true } }, publisher)).status).toBe(202);

    const [aliceEvent] = await alice.waitForCount(undefined, 1);
    await bob.waitForCount(undefined, 2);
    expect(aliceEvent).toMatchObject({ event_type: 'task.event.created', organization_id: 'acme', data: { id: 't1', title: 'Write docs' } });
    expect(typeof aliceEvent!.id).toBe('string');
    expect(Number.isNaN(Date.parse(aliceEvent!.timestamp as string))).toBe(false);
    expect(bob.events().map((e) => e.organization_id)).toEqual(['acme', 'globex']);
    // The same bytes went to every acme member: same id.
    expect(bob.events()[0]!.id).toBe(aliceEvent!.id);

    // A marker event for carol's organization proves her socket was live while the others' events flowed.
    await post(gw, { event_type: 'task.event.created', organization_id: 'initech', data: { marker: true } }, publisher);
    await carol.waitForCount(undefined, 1);
    expect(carol.events().map((e) => e.organization_id)).toEqual(['initech']);
    expect(alice.events()).toHaveLength(1);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  it('resumes and long-polls from the in-memory history', async () => {
    const t = await token('dora', ['acme-r']);
    const first = await TestClient.established(gw.wsUrl, t);
    await post(gw, { event_type: 'task.event.created', organization_id: 'acme-r', data: { n: 1 } }, publisher);
    const [seen] = await first.waitForCount(undefined, 1);
    await first.close();
    await post(gw, { event_type: 'task.event.created', organization_id: 'acme-r', data: { n: 2 } }, publisher);
    await post(gw, { event_type: 'task.event.updated', organization_id: 'acme-r', data: { n: 3 } }, publisher);
    const resumed = await TestClient.connect(`${gw.wsUrl}?resume=${encodeURIComponent(`acme-r:${seen!.id}`)}`, { token: t });
    await resumed.waitForCount(undefined, 2);
    expect(resumed.frames[0]!.data).toMatchObject({ recovered: { 'acme-r': true } });
    expect(resumed.events().map((e) => (e.data as { n: number }).n)).toEqual([2, 3]);
    await resumed.close();

    const poll = await fetch(`${gw.httpUrl}/api/poll?timeout_ms=0&resume=${encodeURIComponent(`acme-r:${seen!.id}`)}`, { headers: { authorization: `Bearer ${t}` } });
    const body = (await poll.json()) as { events: Array<{ data: { n: number } }>; resume: string };
    expect(body.events.map((e) => e.data.n)).toEqual([2, 3]);
    expect(body.resume).toBe(`acme-r:${resumed.events()[1]!.id}`);
  });

  it('authenticates the dev publish endpoint and validates what it accepts', async () => {
    const event = { event_type: 'task.event.created', organization_id: 'acme', data: {} };
    expect((await post(gw, event)).status).toBe(401);
    expect((await post(gw, event, 'garbage')).status).toBe(401);
    expect((await post(gw, event, await token('alice', ['acme']))).status).toBe(403);
    expect((await post(gw, '{not json', publisher)).status).toBe(400);
    expect((await post(gw, { event_type: 'task.event.deleted', organization_id: 'acme' }, publisher)).body.error).toBe('invalid_event');
    expect((await post(gw, { event_type: 'task.event.created' }, publisher)).status).toBe(400);
    // Parses, but nests deeper than serialising allows: refused, as the broker path dead-letters it (a fuzz finding: was a 500).
    const deep = `{"event_type":"task.event.created","organization_id":"acme","data":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    expect(await post(gw, deep, publisher)).toMatchObject({ status: 400, body: { error: 'invalid_event', message: 'data nests too deeply to be serialised' } });
  });

  it('serves liveness, readiness and metrics on the management port only', async () => {
    expect((await fetch(`${gw.managementUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gw.managementUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { listening: true, not_draining: true, broker: true } });
    const metrics = await (await fetch(`${gw.managementUrl}/metrics`)).text();
    expect(metrics).toMatch(/^orgcast_events_delivered_total\{pod="[^"]+"\} [1-9]/m);
    expect(metrics).toContain('orgcast_connections_accepted_total');
    expect(metrics).toContain('orgcast_nodejs_eventloop_lag_seconds');
    expect((await fetch(`${gw.httpUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${gw.httpUrl}/readyz`)).status).toBe(404);
  });
});
