import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { Admission, UpgradeRequest } from '../admission/admission.js';
import type { Principal } from '../auth/principal.js';
import { frameOfEntry } from '../events/history-frame.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import type { HistoryStore } from '../history/history-store.js';
import { createMemoryHistoryStore } from '../history/memory-history-store.js';
import { createMemoryMembershipStore } from '../membership/memory-membership-store.js';
import { createMetrics, type GatewayMetrics } from '../metrics/metrics.js';
import { createMemoryPresenceStore } from '../presence/memory-presence-store.js';
import { formatResume } from '../protocol/resume.js';
import { createConnectFlow } from './connect-flow.js';
import type { ConnectDecision } from './connect-decision.js';
import { ConnectionManager, type OpenPlan } from './connection-manager.js';
import type { SocketPort } from './socket-port.js';

const NOW_MS = 1_700_000_000_000;
const POD = 'pod-a';
const RESUME_MAX_EVENTS = 3;

const principal: Principal = { userId: 'u1', organizations: ['acme', 'globex'], issuedAtMs: NOW_MS - 60_000, expiresAtMs: NOW_MS + 60_000, scopes: [] };

const socket: SocketPort = {
  send: () => true,
  ping: () => undefined,
  end: () => undefined,
  subscribe: () => undefined,
  unsubscribe: () => undefined,
  bufferedAmount: () => 0,
};

function request(resume?: string): UpgradeRequest {
  return { remoteAddress: '10.0.0.1', forwardedFor: undefined, origin: undefined, authorization: 'Bearer t', query: resume === undefined ? '' : `resume=${encodeURIComponent(resume)}` };
}

/**
 * The flow over the real memory history and presence stores (the user's slots) and a real
 * ConnectionManager whose `open` is watched; feeds are a fake port that counts interest and knows
 * each organization's last delivered id.
 */
function setup(options: { slotsPerUser?: number; maxLength?: number } = {}) {
  const history = createMemoryHistoryStore({ maxLength: options.maxLength ?? 1_000, maxAgeMs: 3_600_000, dedupeTtlSeconds: 60, now: () => 1_000 });
  const reads = { failNext: 0 };
  const readable: Pick<HistoryStore, 'readAfter' | 'lastId'> = {
    readAfter: async (org, after, limit) => {
      if (reads.failNext > 0) {
        reads.failNext -= 1;
        throw new Error('injected: Redis is away');
      }
      return history.readAfter(org, after, limit);
    },
    lastId: (org) => history.lastId(org),
  };
  const presence = createMemoryPresenceStore({ podTtlMs: 10_000 });
  const membership = createMemoryMembershipStore({ ttlSeconds: 3_600 });
  const metrics = createMetrics({ collectDefaults: false });
  const logger = pino({ level: 'silent' });

  const interest = new Map<string, number>();
  const failingBinds = new Set<string>();
  const delivered = new Map<string, string>();
  const feeds = {
    acquire: async (org: string) => {
      interest.set(org, (interest.get(org) ?? 0) + 1);
      if (failingBinds.has(org)) throw new Error('injected: the bind failed');
    },
    release: (org: string) => {
      const held = interest.get(org) ?? 0;
      if (held <= 0) throw new Error(`released ${org} without interest`);
      interest.set(org, held - 1);
    },
    lastDelivered: (org: string) => delivered.get(org),
  };

  const manager = new ConnectionManager({
    podName: POD,
    maxConnections: 100,
    heartbeatIntervalMs: 1_000,
    heartbeatTimeoutMs: 3_000,
    maxPayloadBytes: 4_096,
    tokenGraceMs: 0,
    clientMessagesPerSecond: 10,
    clientMessagesBurst: 10,
    clientRateLimitStrikes: 3,
    malformedFrameLimit: 3,
  }, metrics, logger, feeds, {
    history,
    feed: () => undefined,
    subscribers: () => 0,
    pageSize: 100,
    budgetBytes: 1_000_000,
    retryDelayMs: () => undefined,
    fault: () => undefined,
  }, { membership, history });
  const open = vi.spyOn(manager, 'open');

  const admission = { result: { ok: true, principal, organizations: ['acme', 'globex'], clientAddress: '10.0.0.1' } as Admission, calls: 0, during: () => undefined as void };
  const flow = createConnectFlow({
    admit: async () => {
      admission.calls += 1;
      admission.during();
      return admission.result;
    },
    slots: {
      reserve: (userId) => presence.tryReserve(POD, userId, options.slotsPerUser ?? 2),
      release: (userId) => void presence.release(POD, userId),
    },
    feeds,
    history: readable,
    membership,
    manager,
    resumeMaxEvents: RESUME_MAX_EVENTS,
    metrics,
    logger,
  });

  let keys = 0;
  const append = async (org: string, n: number): Promise<RoutedFrame[]> => {
    const frames: RoutedFrame[] = [];
    for (let i = 0; i < n; i += 1) {
      keys += 1;
      const record = { eventType: 'task.event.created', dataJson: JSON.stringify({ n: keys }), timestampMs: 0 };
      const { id, prev } = await history.append(org, `k${keys}`, record);
      frames.push(frameOfEntry(org, { id, prev, ...record }));
    }
    return frames;
  };

  const slots = async () => (await presence.connectionsOf('u1')).get(POD) ?? 0;
  /** Opens an accepted decision on a socket and returns the plan the manager got. */
  const planOf = (decision: ConnectDecision): OpenPlan => {
    if (!decision.ok) throw new Error(`refused: ${decision.status} ${decision.message}`);
    decision.open(socket);
    expect(open).toHaveBeenCalledTimes(1);
    const [openedSocket, openedPrincipal, organizations, plan] = open.mock.calls[0]!;
    expect(openedSocket).toBe(socket);
    expect(openedPrincipal).toBe(principal);
    expect(organizations).toEqual(['acme', 'globex']);
    return plan;
  };
  return { flow, manager, open, admission, interest, failingBinds, delivered, reads, metrics, membership, append, slots, planOf };
}

async function counter(metrics: GatewayMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  return metric.values.find((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label))?.value ?? 0;
}

describe('createConnectFlow', () => {
  it('refuses a malformed resume with 400 before admission', async () => {
    const { flow, admission, slots, interest } = setup();
    for (const resume of ['acme', 'acme:', 'acme:01-0', 'acme:1-0,:2-0']) {
      const decision = await flow(request(resume), 1);
      expect(decision).toMatchObject({ ok: false, status: 400, error: 'invalid_request' });
    }
    expect(admission.calls).toBe(0);
    expect(await slots()).toBe(0);
    expect(interest.size).toBe(0);
  });

  it('passes an admission refusal through, reserving nothing', async () => {
    const { flow, admission, slots, interest } = setup();
    const refusal: Admission = { ok: false, status: 403, error: 'forbidden_origin', message: 'origin not allowed', reason: 'forbidden_origin' };
    admission.result = refusal;
    expect(await flow(request(), 1)).toBe(refusal);
    expect(await slots()).toBe(0);
    expect(interest.size).toBe(0);
  });

  it('refuses with 429 when the user has no slot left, and counts it', async () => {
    const { flow, slots, interest, metrics } = setup({ slotsPerUser: 1 });
    const first = await flow(request(), 1);
    expect(first.ok).toBe(true);
    const second = await flow(request(), 1);
    expect(second).toMatchObject({ ok: false, status: 429, error: 'too_many_connections' });
    expect(await counter(metrics, 'orgcast_connections_refused_total', { reason: 'user_limit' })).toBe(1);
    expect(await slots()).toBe(1);
    expect(Object.fromEntries(interest)).toEqual({ acme: 1, globex: 1 }); // the first connection's only
  });

  it('refuses with 503 when a feed cannot be bound, releasing every interest and the slot', async () => {
    const { flow, slots, interest, failingBinds, metrics, open } = setup();
    failingBinds.add('globex');
    const decision = await flow(request(), 1);
    expect(decision).toMatchObject({ ok: false, status: 503, error: 'unavailable' });
    expect(Object.fromEntries(interest)).toEqual({ acme: 0, globex: 0 });
    expect(await slots()).toBe(0);
    expect(await counter(metrics, 'orgcast_connections_refused_total', { reason: 'feed_unavailable' })).toBe(1);
    expect(open).not.toHaveBeenCalled();
  });

  it('starts an organization the cursor lacks at the position of an addition made since the token, only when the client has a cursor', async () => {
    const { flow, append, planOf, membership, open } = setup();
    const acme = await append('acme', 1);
    const before = await append('globex', 2);
    await membership.recordAdded('globex', principal.userId, Date.now() + 60_000, before[1]!.id);
    const after = await append('globex', 2);
    const plan = planOf(await flow(request(formatResume(new Map([['acme', acme[0]!.id]]))), 1));
    expect(plan.recovered).toEqual({ acme: true, globex: true });
    expect(plan.starts.get('globex')).toEqual({ position: before[1]!.id, replay: after });
    // Without a cursor the client is new: it starts at the end.
    open.mockClear();
    const fresh = planOf(await flow(request(), 1));
    expect(fresh.starts.get('globex')).toEqual({ position: after[1]!.id, replay: [] });
  });

  it('recovers a resumed organization whose history reaches back, replaying at most RESUME_MAX_EVENTS after the id', async () => {
    const { flow, append, planOf, metrics } = setup();
    const acme = await append('acme', 5);
    const globex = await append('globex', 2);
    const decision = await flow(request(formatResume(new Map([['acme', acme[1]!.id], ['globex', globex[1]!.id]]))), 1);
    const plan = planOf(decision);
    expect(plan.recovered).toEqual({ acme: true, globex: true });
    // Exactly RESUME_MAX_EVENTS after acme's id: still recovered.
    expect(plan.starts.get('acme')).toEqual({ position: acme[1]!.id, replay: acme.slice(2) });
    expect(plan.starts.get('globex')).toEqual({ position: globex[1]!.id, replay: [] });
    expect(await counter(metrics, 'orgcast_resumes_total', { recovered: 'true' })).toBe(2);
  });

  it('does not recover where history no longer reaches back: the start is live, at history\'s last id', async () => {
    const { flow, append, planOf, metrics } = setup({ maxLength: 3 });
    const acme = await append('acme', 5); // history keeps acme[2..4]: acme[1] is gone
    const plan = planOf(await flow(request(formatResume(new Map([['acme', acme[0]!.id]]))), 1));
    expect(plan.recovered).toEqual({ acme: false });
    expect(plan.starts.get('acme')).toEqual({ position: acme[4]!.id, replay: [] });
    expect(await counter(metrics, 'orgcast_resumes_total', { recovered: 'false' })).toBe(1);
  });

  it('does not recover more than RESUME_MAX_EVENTS: the start is live, at the feed\'s last id', async () => {
    const { flow, append, planOf, metrics, delivered } = setup();
    const globex = await append('globex', 5);
    delivered.set('globex', globex[2]!.id); // this pod's feed is behind the history
    const plan = planOf(await flow(request(formatResume(new Map([['globex', globex[0]!.id]]))), 1));
    expect(plan.recovered).toEqual({ globex: false }); // four events after the id, one too many
    expect(plan.starts.get('globex')).toEqual({ position: globex[2]!.id, replay: [] });
    expect(await counter(metrics, 'orgcast_resumes_total', { recovered: 'false' })).toBe(1);
  });

  it('starts an organization without resume live: at the feed\'s last id when known, else history\'s', async () => {
    const { flow, append, planOf, delivered } = setup();
    const acme = await append('acme', 3);
    delivered.set('acme', acme[1]!.id);
    const plan = planOf(await flow(request(), 1));
    expect(plan.recovered).toEqual({});
    expect(plan.starts.get('acme')).toEqual({ position: acme[1]!.id, replay: [] });
    expect(plan.starts.get('globex')).toEqual({ position: '0-0', replay: [] }); // no history yet
  });

  it('reads the change sequence before admission, so changes made during it are applied at open', async () => {
    const { flow, manager, admission, planOf } = setup();
    manager.applyMembership({ eventType: 'organization.member.added', organizationId: 'initech', userId: 'u9', atMs: NOW_MS }, '0-0');
    admission.during = () => void manager.applyMembership({ eventType: 'organization.member.added', organizationId: 'hooli', userId: 'u9', atMs: NOW_MS }, '0-0');
    const plan = planOf(await flow(request(), 1));
    expect(plan.changesSeen).toBe(1);
    expect(manager.changeSequence()).toBe(2);
  });

  it('cancel releases every interest and the slot', async () => {
    const { flow, slots, interest, open } = setup();
    const decision = await flow(request(), 1);
    expect(await slots()).toBe(1);
    expect(Object.fromEntries(interest)).toEqual({ acme: 1, globex: 1 });
    if (!decision.ok) throw new Error('refused');
    decision.cancel();
    expect(await slots()).toBe(0);
    expect(Object.fromEntries(interest)).toEqual({ acme: 0, globex: 0 });
    expect(open).not.toHaveBeenCalled();
  });

  it('releases everything and rethrows when a resume read fails', async () => {
    const { flow, append, slots, interest, reads } = setup();
    const acme = await append('acme', 2);
    reads.failNext = 1;
    await expect(flow(request(formatResume(new Map([['acme', acme[0]!.id]]))), 1)).rejects.toThrow('injected');
    expect(await slots()).toBe(0);
    expect(Object.fromEntries(interest)).toEqual({ acme: 0, globex: 0 });
  });
});
