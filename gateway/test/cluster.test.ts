import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, token, type RunningGateway } from './helpers/gateway.js';
import { metricValue, startPods, type Pods } from './helpers/pods.js';
import { createRedisMembershipStore } from '../src/membership/redis-membership-store.js';
import { ResumingClient } from './helpers/resuming-client.js';
import { waitFor } from './helpers/wait.js';
import { TestClient, expectRefused } from './helpers/ws-client.js';

const ADMIN_TOKEN = 'admin-token-0123456789-0123456789-abc';

const deliveries = (pod: RunningGateway): Promise<number> => metricValue(pod, /^orgcast_broker_deliveries_total\{pod="[^"]+"\} (\d+)/m);

describe('cluster of three pods (RabbitMQ + Redis)', () => {
  let cluster: Pods;
  beforeAll(async () => {
    cluster = await startPods(3, { HISTORY_MAX_LENGTH: '500', ADMIN_TOKEN });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('isolates tenants: random memberships, 10k events, each member gets its organizations\' events exactly once, in order', async () => {
    const organizations = Array.from({ length: 12 }, (_, i) => `org-${i}`);
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const members = await Promise.all(Array.from({ length: 45 }, async (_, i) => {
      const orgs = organizations.filter(() => random() < 0.25);
      const pod = cluster.pods[i % 3]!;
      const client = await TestClient.established(pod.wsUrl, await token(`user-${i}`, orgs));
      return { orgs: new Set(orgs), client };
    }));
    const events = Array.from({ length: 10_000 }, (_, seq) => ({ organizationId: organizations[Math.floor(random() * organizations.length)]!, data: { seq } }));
    await cluster.publisher.tasks(events);
    const expected = (orgs: Set<string>): number[] => events.filter((e) => orgs.has(e.organizationId)).map((e) => e.data.seq);
    for (const { orgs, client } of members) {
      const want = expected(orgs);
      await client.waitForCount(undefined, want.length, 90_000);
      await new Promise((r) => setTimeout(r, 0));
      const got = client.events();
      expect(got.every((e) => orgs.has(e.organization_id!))).toBe(true);
      expect(got.map((e) => (e.data as { seq: number }).seq)).toEqual(want);
      const ids = new Set(got.map((e) => `${e.organization_id} ${e.id}`));
      expect(ids.size).toBe(got.length);
    }
    // The same event has the same id on every pod.
    const byEvent = new Map<number, string>();
    for (const { client } of members) {
      for (const e of client.events()) {
        const seq = (e.data as { seq: number }).seq;
        const id = byEvent.get(seq);
        if (id === undefined) byEvent.set(seq, e.id!);
        else expect(e.id).toBe(id);
      }
    }
    await Promise.all(members.map((m) => m.client.close()));
  }, 150_000);

  it('delivers from the broker only to pods with a member of the organization', async () => {
    const [a, b, c] = cluster.pods as [RunningGateway, RunningGateway, RunningGateway];
    const onA = await TestClient.established(a.wsUrl, await token('solo-a', ['only-on-a']));
    const onB = await TestClient.established(b.wsUrl, await token('solo-b', ['only-on-b']));
    const before = await Promise.all([a, b, c].map(deliveries));
    await cluster.publisher.tasks(Array.from({ length: 50 }, (_, i) => ({ organizationId: 'only-on-a', data: { i } })));
    await onA.waitForCount(undefined, 50);
    const after = await Promise.all([a, b, c].map(deliveries));
    expect(after[0]! - before[0]!).toBeGreaterThanOrEqual(50);
    expect(after[1]! - before[1]!).toBe(0);
    expect(after[2]! - before[2]!).toBe(0);
    expect(onB.events()).toHaveLength(0);
    await Promise.all([onA.close(), onB.close()]);
  });

  it('resumes on another pod without a gap or a duplicate, and says when history no longer reaches back', async () => {
    const [a, b] = cluster.pods as [RunningGateway, RunningGateway];
    const t = await token('resumer', ['resume-org', 'resume-other']);
    let url = a.wsUrl;
    const client = new ResumingClient(() => url, t);
    await client.connect();
    await cluster.publisher.tasks(Array.from({ length: 20 }, (_, i) => ({ organizationId: 'resume-org', data: { i } })));
    await waitFor(() => client.received.length === 20, 5_000, 'first 20');
    url = b.wsUrl;
    // Disconnect, publish while away, reconnect on another pod with resume.
    client.close();
    await cluster.publisher.tasks(Array.from({ length: 30 }, (_, i) => ({ organizationId: 'resume-org', data: { i: 20 + i } })));
    const again = new ResumingClient(() => url, t);
    for (const [org, id] of client.lastIds) again.seen(org, id);
    await again.connect();
    await cluster.publisher.tasks(Array.from({ length: 10 }, (_, i) => ({ organizationId: 'resume-org', data: { i: 50 + i } })));
    await waitFor(() => again.received.length === 40, 5_000, 'replayed 30 + live 10');
    expect(again.received.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: 40 }, (_, i) => 20 + i));
    expect(again.check()).toMatchObject({ duplicates: 0, outOfOrder: 0 });
    // resume-other had no event: the client resumes it from the cursor connection.established gave.
    expect(again.recoveredFlags).toEqual([{ 'resume-org': true, 'resume-other': true }]);
    expect(again.pods).toEqual([b.config.podName]);
    again.close();

    // A resume point the history no longer holds (HISTORY_MAX_LENGTH is 500 here): recovered false.
    const watcher = await TestClient.established(a.wsUrl, await token('watcher', ['stale-org']));
    await cluster.publisher.tasks(Array.from({ length: 510 }, (_, i) => ({ organizationId: 'stale-org', data: { i } })));
    const [firstSeen] = await watcher.waitForCount(undefined, 510, 10_000);
    await watcher.close();
    const stale = new ResumingClient(() => a.wsUrl, await token('watcher', ['stale-org']));
    stale.seen('stale-org', firstSeen!.id!);
    await stale.connect();
    stale.close();
    expect(stale.recoveredFlags).toEqual([{ 'stale-org': false }]);
    expect(stale.received).toEqual([]);
  });

  it('answers long polls on any pod with the same cursor', async () => {
    const [a, b, c] = cluster.pods as [RunningGateway, RunningGateway, RunningGateway];
    const t = await token('poller', ['poll-org']);
    const poll = async (pod: RunningGateway, resume?: string, timeoutMs = 5_000): Promise<{ events: Array<{ id: string; data: { n: number } }>; resume: string; recovered: Record<string, boolean> }> => {
      const query = new URLSearchParams({ timeout_ms: String(timeoutMs) });
      if (resume !== undefined) query.set('resume', resume);
      const response = await fetch(`${pod.httpUrl}/api/poll?${query.toString()}`, { headers: { authorization: `Bearer ${t}` } });
      expect(response.status).toBe(200);
      return (await response.json()) as never;
    };
    const first = await poll(a);
    expect(first.events).toEqual([]);
    expect(first.resume).toMatch(/^poll-org:/);
    await cluster.publisher.tasks([{ organizationId: 'poll-org', data: { n: 1 } }, { organizationId: 'poll-org', data: { n: 2 } }]);
    const second = await poll(b, first.resume);
    expect(second.events.map((e) => e.data.n)).toEqual([1, 2]);
    expect(second.recovered).toEqual({ 'poll-org': true });
    // A long poll on a third pod wakes up when the next event arrives.
    const started = Date.now();
    const waiting = poll(c, second.resume, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    await cluster.publisher.task('poll-org', { n: 3 });
    const third = await waiting;
    expect(third.events.map((e) => e.data.n)).toEqual([3]);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Nothing new: an empty answer after the timeout, same cursor.
    const empty = await poll(a, third.resume, 200);
    expect(empty).toMatchObject({ events: [], resume: third.resume });
    const refused = await fetch(`${a.httpUrl}/api/poll`);
    expect(refused.status).toBe(401);
  });

  it('holds MAX_CONNECTIONS_PER_USER across pods', async () => {
    const pods = await startPods(2, { MAX_CONNECTIONS_PER_USER: '3' });
    try {
      const [a, b] = pods.pods as [RunningGateway, RunningGateway];
      const t = await token('limited', ['acme']);
      const open = [await TestClient.established(a.wsUrl, t), await TestClient.established(b.wsUrl, t), await TestClient.established(a.wsUrl, t)];
      await expect(TestClient.connect(b.wsUrl, { token: t })).rejects.toMatchObject({ status: 429 });
      await open[1]!.close();
      await waitFor(async () => {
        try {
          open.push(await TestClient.established(b.wsUrl, t));
          return true;
        } catch {
          return false;
        }
      }, 3_000, 'a slot frees up');
      await Promise.all(open.map((c) => c.close()));
    } finally {
      await pods.stop();
    }
  });

  it('applies cross-pod commands: disconnect a user everywhere, membership changes on every pod within a second', async () => {
    const [a, b, c] = cluster.pods as [RunningGateway, RunningGateway, RunningGateway];
    const t = await token('mallory', ['cmd-org', 'cmd-other']);
    const clients = [await TestClient.established(a.wsUrl, t), await TestClient.established(b.wsUrl, t), await TestClient.established(c.wsUrl, t)];
    const started = Date.now();
    await cluster.publisher.membership('organization.member.removed', 'cmd-org', 'mallory');
    await Promise.all(clients.map((cl) => cl.waitFor((f) => f.event_type === 'organization.access.revoked', 1_000)));
    expect(Date.now() - started).toBeLessThan(1_000);
    await cluster.publisher.tasks([{ organizationId: 'cmd-org', data: { hidden: true } }, { organizationId: 'cmd-other', data: { visible: true } }]);
    await Promise.all(clients.map((cl) => cl.waitForCount(undefined, 1)));
    for (const cl of clients) expect(cl.events().map((e) => e.organization_id)).toEqual(['cmd-other']);

    const disconnect = (authorization?: string): Promise<Response> => fetch(`${b.managementUrl}/admin/users/mallory/disconnect`, { method: 'POST', headers: authorization === undefined ? {} : { authorization } });
    for (const refused of [await disconnect(), await disconnect(`Bearer ${ADMIN_TOKEN}x`), await disconnect(ADMIN_TOKEN)]) {
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ error: 'unauthorized' });
    }
    expect(clients.map((cl) => cl.closeCode)).toEqual([undefined, undefined, undefined]);
    const response = await disconnect(`Bearer ${ADMIN_TOKEN}`);
    expect(response.status).toBe(202);
    const codes = await Promise.all(clients.map((cl) => cl.waitForClose(1_000)));
    expect(codes).toEqual([4403, 4403, 4403]);
  });

  it('serves organization ids longer than a routing key (256 characters, 512 UTF-8 bytes) like any other', async () => {
    const [a, b] = cluster.pods as [RunningGateway, RunningGateway];
    const long = 'é'.repeat(256);
    const other = `#${'é'.repeat(255)}`;
    const clients = [await TestClient.established(a.wsUrl, await token('lena', [long])), await TestClient.established(b.wsUrl, await token('omar', [other]))];
    await cluster.publisher.tasks([{ organizationId: long, data: { n: 1 } }, { organizationId: other, data: { n: 2 } }, { organizationId: long, data: { n: 3 } }]);
    const [lena, omar] = await Promise.all([clients[0]!.waitForCount(undefined, 2), clients[1]!.waitForCount(undefined, 1)]);
    expect(lena.map((e) => e.data)).toEqual([{ n: 1 }, { n: 3 }]);
    expect(omar.map((e) => e.data)).toEqual([{ n: 2 }]);
    await Promise.all(clients.map((c) => c.close()));
    expect(await expectRefused(a.wsUrl, { token: await token('lena', ['x'.repeat(257)]) })).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('applies membership changes at their place in the sequence: a grant misses nothing after it, a removal cuts exactly after the events before it', async () => {
    const [a, b] = cluster.pods as [RunningGateway, RunningGateway];
    // nora follows only seq-other; she is added to seq-org, events flow right behind the change.
    const nora = [await TestClient.established(a.wsUrl, await token('nora', ['seq-other'])), await TestClient.established(b.wsUrl, await token('nora', ['seq-other']))];
    const watcher = await TestClient.established(a.wsUrl, await token('walt', ['seq-org']));
    await cluster.publisher.tasks(Array.from({ length: 5 }, (_, n) => ({ organizationId: 'seq-org', data: { n } })));
    await watcher.waitForCount(undefined, 5);
    await cluster.publisher.membership('organization.member.added', 'seq-org', 'nora');
    await cluster.publisher.tasks(Array.from({ length: 20 }, (_, n) => ({ organizationId: 'seq-org', data: { n: 5 + n } })));
    for (const client of nora) {
      const events = await client.waitForCount(undefined, 20, 5_000);
      // Every event sequenced after the grant, none before it, in order.
      expect(events.map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: 20 }, (_, n) => 5 + n));
      const granted = client.frames.find((f) => f.event_type === 'organization.access.granted');
      expect((granted?.data as { position?: string }).position).toBe(watcher.events()[4]!.id);
    }
    // Removed while events are still flowing: she gets every event sequenced before the removal.
    await cluster.publisher.tasks(Array.from({ length: 10 }, (_, n) => ({ organizationId: 'seq-org', data: { n: 25 + n } })));
    await cluster.publisher.membership('organization.member.removed', 'seq-org', 'nora');
    await cluster.publisher.tasks(Array.from({ length: 10 }, (_, n) => ({ organizationId: 'seq-org', data: { n: 35 + n } })));
    await watcher.waitForCount(undefined, 45);
    for (const client of nora) {
      await client.waitFor((f) => f.event_type === 'organization.access.revoked', 5_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(client.events().map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: 30 }, (_, n) => 5 + n));
      const revokedAt = client.frames.findIndex((f) => f.event_type === 'organization.access.revoked');
      expect(client.frames.slice(revokedAt).filter((f) => f.organization_id === 'seq-org')).toEqual([]);
    }
    await Promise.all([...nora, watcher].map((c) => c.close()));
  });

  it('applies a removal before the events after it even when a pod\'s command reader lags the broker (its Redis connection cut)', async () => {
    const [a, b] = cluster.pods as [RunningGateway, RunningGateway];
    const ida = [await TestClient.established(a.wsUrl, await token('ida', ['lag-org'])), await TestClient.established(b.wsUrl, await token('ida', ['lag-org']))];
    const watcher = await TestClient.established(b.wsUrl, await token('wes', ['lag-org']));
    await cluster.publisher.tasks(Array.from({ length: 5 }, (_, n) => ({ organizationId: 'lag-org', data: { n } })));
    await watcher.waitForCount(undefined, 5);
    // Every pod's command reader loses its Redis connection again and again: the removal reaches
    // the pods on the command stream long after the events behind it arrive on the broker.
    const redis = cluster.redis.redis;
    const cutReaders = async (): Promise<void> => {
      const list = await redis.client('LIST') as string;
      const ids = list.split('\n').filter((line) => line.includes(`name=${cluster.redis.prefix}command-reader`)).map((line) => /\bid=(\d+)/.exec(line)?.[1]).filter((id) => id !== undefined);
      for (const id of ids) await redis.client('KILL', 'ID', id);
    };
    let cutting = true;
    const cutter = (async () => {
      while (cutting) {
        await cutReaders();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      await cluster.publisher.membership('organization.member.removed', 'lag-org', 'ida');
      await cluster.publisher.tasks(Array.from({ length: 10 }, (_, n) => ({ organizationId: 'lag-org', data: { n: 5 + n } })));
      await watcher.waitForCount(undefined, 15, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      cutting = false;
      await cutter;
    }
    for (const client of ida) {
      await client.waitFor((f) => f.event_type === 'organization.access.revoked', 8_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(client.events().map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2, 3, 4]);
    }
    // Whether a pod's reader was cut at the very moment varies from run to run; what must hold is
    // that no pod delivered past the removal (without the fence the member gets the later events).
    for (const pod of [a, b]) expect(await metricValue(pod, /^orgcast_membership_late_removals_total\{[^}]*\} (\d+)/m)).toBe(0);
    await Promise.all([...ida, watcher].map((c) => c.close()));
  });

  it('re-reads every connection\'s memberships when commands may have been missed (a removal never heard is still applied)', async () => {
    const [a] = cluster.pods as [RunningGateway];
    const client = await TestClient.established(a.wsUrl, await token('rita', ['lost-org', 'kept-org']));
    // The removal reaches the store, but its command is lost (as with a pod away longer than the stream keeps).
    const store = createRedisMembershipStore({ redis: cluster.redis.redis, keyPrefix: cluster.redis.prefix, ttlSeconds: 3_600 });
    await store.recordRemoved('lost-org', 'rita', Date.now());
    // The command counter goes back (Redis lost its data): every pod re-reads.
    await cluster.redis.redis.set(`${cluster.redis.prefix}{commands}:seq`, '0');
    await client.waitFor((f) => f.event_type === 'organization.access.revoked' && (f.data as { organization_id: string }).organization_id === 'lost-org', 5_000);
    await cluster.publisher.tasks([{ organizationId: 'lost-org', data: { n: 1 } }, { organizationId: 'kept-org', data: { n: 2 } }]);
    await client.waitForCount(undefined, 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(client.events().map((e) => e.organization_id)).toEqual(['kept-org']);
    await client.close();
  });

  it('has no admin endpoint at all without ADMIN_TOKEN', async () => {
    const pod = await startGateway({});
    try {
      expect((await fetch(`${pod.managementUrl}/admin/users/mallory/disconnect`, { method: 'POST' })).status).toBe(404);
    } finally {
      await pod.stop();
    }
  });

  it('sees every live pod in its ring', async () => {
    for (const pod of cluster.pods) expect(await metricValue(pod, /^orgcast_cluster_live_pods\{pod="[^"]+"\} (\d+)/m)).toBe(3);
  });
});
