import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { frameOfEntry } from '../events/history-frame.js';
import type { InboundMembershipChange } from '../events/inbound-event.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import { createMemoryHistoryStore } from '../history/memory-history-store.js';
import { createMemoryMembershipStore } from '../membership/memory-membership-store.js';
import { createMetrics, type GatewayMetrics } from '../metrics/metrics.js';
import { CloseCode } from '../protocol/close-codes.js';
import { formatResume } from '../protocol/resume.js';
import { OrganizationFeed, type FeedContext } from '../routing/organization-feed.js';
import { ConnectionManager, type ConnectionManagerOptions, type FeedInterest, type OpenPlan, type OrganizationStart } from './connection-manager.js';
import type { Session } from './session.js';
import type { SocketPort } from './socket-port.js';
import type { RefreshCheck, TokenRefresher } from './token-refresh.js';
import { feedContextForTests } from '../routing/feed-context.fixture.js';

const NOW_MS = 1_700_000_000_000;
/** What the fake socket counts per frame while it is slow. */
const FRAME_BYTES = 100;

/** The uWS topics: a frame published to `o/<org>` reaches every socket subscribed to it. */
class Topics {
  private readonly sockets = new Map<string, Set<FakeSocket>>();
  add(topic: string, socket: FakeSocket): void {
    const set = this.sockets.get(topic) ?? new Set<FakeSocket>();
    set.add(socket);
    this.sockets.set(topic, set);
  }
  remove(topic: string, socket: FakeSocket): void {
    this.sockets.get(topic)?.delete(socket);
  }
  publish(topic: string, text: string): number {
    const set = this.sockets.get(topic) ?? new Set<FakeSocket>();
    for (const socket of set) socket.sent.push(text);
    return set.size;
  }
  subscribers(topic: string): number {
    return this.sockets.get(topic)?.size ?? 0;
  }
}

class FakeSocket implements SocketPort {
  readonly sent: string[] = [];
  readonly topics = new Set<string>();
  ended: { code: number; reason: string } | undefined;
  pings = 0;
  /** While slow, every frame sent stays in the buffer until `drain`. */
  slow = false;
  buffered = 0;
  throwOnSend = false;
  session: Session | undefined;

  constructor(private readonly hub: Topics) {}

  send(text: string): boolean {
    if (this.throwOnSend) throw new Error('injected: the socket threw');
    this.sent.push(text);
    if (this.slow) this.buffered += FRAME_BYTES;
    return true;
  }
  ping(): void {
    this.pings += 1;
  }
  end(code: number, reason: string): void {
    this.ended = { code, reason };
  }
  subscribe(topic: string): void {
    this.topics.add(topic);
    this.hub.add(topic, this);
  }
  unsubscribe(topic: string): void {
    this.topics.delete(topic);
    this.hub.remove(topic, this);
  }
  bufferedAmount(): number {
    return this.buffered;
  }
  /** The kernel took the buffer: uWS calls the drain handler. */
  drain(): void {
    this.buffered = 0;
    this.session?.onDrain();
  }
  frames(): Array<{ event_type: string; id?: string; data?: Record<string, unknown> }> {
    return this.sent.map((text) => JSON.parse(text) as { event_type: string; id?: string; data?: Record<string, unknown> });
  }
  /** Each frame after connection.established as its id, or its type and organization. */
  after(): string[] {
    return this.frames().slice(1).map((frame) => frame.id ?? `${frame.event_type} ${String(frame.data?.organization_id)}`);
  }
}

const options: ConnectionManagerOptions = {
  podName: 'pod-a',
  maxConnections: 100,
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 3_000,
  maxPayloadBytes: 4_096,
  tokenGraceMs: 2_000,
  clientMessagesPerSecond: 100,
  clientMessagesBurst: 100,
  clientRateLimitStrikes: 3,
  malformedFrameLimit: 3,
};

/**
 * A manager over the real memory history and membership stores and real feeds, with fake sockets
 * on fake topics; interest in feeds is counted per organization (a feed exists once acquired).
 */
function setup(feedOptions: { bufferSize?: number; refresher?: TokenRefresher } = {}) {
  const clock = { ms: NOW_MS };
  const history = createMemoryHistoryStore({ maxLength: 1_000, maxAgeMs: 3_600_000, dedupeTtlSeconds: 60, now: () => 1_000 });
  const membership = createMemoryMembershipStore({ ttlSeconds: 3_600, now: () => clock.ms });
  const metrics = createMetrics({ collectDefaults: false });
  const hub = new Topics();
  /** The feeds' history reads: `failNext` fail (Redis away for a moment), then retried after 1 ms. */
  const feedReads = { failNext: 0 };
  const context: FeedContext = feedContextForTests({
    history: {
      readAfter: async (org, after, limit) => {
        if (feedReads.failNext > 0) {
          feedReads.failNext -= 1;
          throw new Error('injected: Redis is away');
        }
        return history.readAfter(org, after, limit);
      },
    },
    publish: (org, text) => hub.publish(`o/${org}`, text),
    subscribers: (org) => hub.subscribers(`o/${org}`),
    bufferSize: feedOptions.bufferSize,
  });
  const feeds = new Map<string, OrganizationFeed>();
  const feedOf = (org: string): OrganizationFeed => {
    let feed = feeds.get(org);
    if (feed === undefined) {
      feed = new OrganizationFeed(org, context);
      feeds.set(org, feed);
    }
    return feed;
  };
  const interest = new Map<string, number>();
  const failingBinds = new Set<string>();
  /** Binds of these organizations wait until the promise resolves (a slow broker bind). */
  const heldBinds = new Map<string, Promise<void>>();
  const feedInterest: FeedInterest = {
    acquire: async (org) => {
      interest.set(org, (interest.get(org) ?? 0) + 1);
      await heldBinds.get(org);
      if (failingBinds.has(org)) throw new Error('injected: the bind failed');
      feedOf(org);
    },
    release: (org) => {
      const held = interest.get(org) ?? 0;
      if (held <= 0) throw new Error(`released ${org} without interest`);
      interest.set(org, held - 1);
    },
  };
  const closedSessions: Session[] = [];
  const faults: unknown[] = [];
  const manager = new ConnectionManager(options, metrics, pino({ level: 'silent' }), feedInterest, {
    history,
    feed: (org) => feeds.get(org),
    subscribers: (org) => hub.subscribers(`o/${org}`),
    pageSize: 100,
    budgetBytes: 3 * FRAME_BYTES - 1,
    retryDelayMs: (attempt) => (attempt <= 2 ? 1 : undefined),
    fault: (error) => void faults.push(error),
  }, { membership, history, ...(feedOptions.refresher !== undefined && { refresher: feedOptions.refresher }) }, { onClosed: (session) => void closedSessions.push(session) }, () => clock.ms);

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

  const principal = (userId: string, organizations: readonly string[]): Principal => ({
    userId,
    organizations,
    issuedAtMs: NOW_MS - 60_000,
    expiresAtMs: NOW_MS + 10_000,
    scopes: [],
  });

  /** What the connect flow does: one interest per organization, then `open`. */
  const connect = (user: Principal, starts: Record<string, OrganizationStart>, plan: Partial<OpenPlan> = {}, prepare: (socket: FakeSocket) => void = () => undefined) => {
    const organizations = Object.keys(starts);
    for (const org of organizations) void feedInterest.acquire(org);
    const socket = new FakeSocket(hub);
    prepare(socket);
    const session = manager.open(socket, user, organizations, {
      recovered: {},
      starts: new Map(Object.entries(starts)),
      changesSeen: manager.changeSequence(),
      ...plan,
    });
    socket.session = session;
    return { session, socket };
  };

  return { clock, history, membership, metrics, hub, manager, feeds, feedOf, feedReads, interest, failingBinds, heldBinds, closedSessions, faults, append, principal, connect };
}

async function counter(metrics: GatewayMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  const match = metric.values.find((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label));
  return match?.value ?? 0;
}

const removed = (organizationId: string, userId = 'u1'): InboundMembershipChange => ({ eventType: 'organization.member.removed', organizationId, userId, atMs: NOW_MS - 1_000 });
const added = (organizationId: string, userId = 'u1'): InboundMembershipChange => ({ eventType: 'organization.member.added', organizationId, userId, atMs: NOW_MS - 1_000 });
const live = (position: string): OrganizationStart => ({ position, replay: [] });
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('ConnectionManager', () => {
  it('applies an auth.refresh: new expiry, organizations revoked at once and granted from their position, then auth.refreshed', async () => {
    const answers: RefreshCheck[] = [];
    const tokens: string[] = [];
    const refresher: TokenRefresher = async (_userId, token) => {
      tokens.push(token);
      return answers.shift()!;
    };
    const { manager, feedOf, append, principal, connect, clock, metrics } = setup({ refresher });
    const [acme0] = await append('acme', 1);
    const [globex0] = await append('globex', 1);
    const [initech0] = await append('initech', 1);
    for (const [org, frame] of [['acme', acme0], ['globex', globex0], ['initech', initech0]] as const) feedOf(org).deliver(frame!);
    const { session, socket } = connect(principal('u1', ['acme', 'globex']), { acme: live(acme0!.id), globex: live(globex0!.id) });

    const renewed = { ...principal('u1', ['acme', 'initech']), expiresAtMs: NOW_MS + 120_000 };
    answers.push({ ok: true, principal: renewed, organizations: ['acme', 'initech'] });
    session.onText('{"event_type":"auth.refresh","data":{"token":"t2"}}', clock.ms);
    await settle();
    expect(tokens).toEqual(['t2']);
    expect(socket.after()).toEqual(['organization.access.revoked globex', 'auth.refreshed undefined', 'organization.access.granted initech']);
    expect(socket.frames().find((f) => f.event_type === 'auth.refreshed')!.data).toEqual({
      token_expires_at: new Date(NOW_MS + 120_000).toISOString(), refresh_in_ms: 90_000, organizations: ['acme', 'initech'],
    });
    expect(session.claims.organizations).toEqual(['acme', 'initech']);
    // initech from its position, globex no more.
    const [initech1] = await append('initech', 1);
    const [globex1] = await append('globex', 1);
    feedOf('initech').deliver(initech1!);
    feedOf('globex').deliver(globex1!);
    await settle();
    expect(socket.after().slice(3)).toEqual([initech1!.id]);
    // The old token's expiry (plus grace) no longer closes it.
    clock.ms = NOW_MS + 15_000;
    session.touch(clock.ms); // heartbeats answered meanwhile
    manager.sweep();
    expect(socket.ended).toBeUndefined();
    expect(await counter(metrics, 'orgcast_token_refreshes_total', { result: 'refreshed' })).toBe(1);

    // A refused refresh: an error frame, and the current token stays in force until it expires.
    answers.push({ ok: false, message: 'the new token is for another user (sub); reconnect to change user' });
    session.onText('{"event_type":"auth.refresh","data":{"token":"t3"}}', clock.ms);
    await settle();
    expect(socket.frames().at(-1)).toEqual({ event_type: 'error', data: { code: 'refresh_failed', message: 'the new token is for another user (sub); reconnect to change user' } });
    clock.ms = NOW_MS + 121_999;
    session.touch(clock.ms);
    manager.sweep();
    expect(socket.ended).toBeUndefined();
    clock.ms = NOW_MS + 122_000;
    session.touch(clock.ms);
    manager.sweep();
    expect(socket.ended?.code).toBe(CloseCode.TokenExpired);
  });

  it('only applies the newest of two refreshes in flight, and refuses refreshes without a refresher', async () => {
    let release: (check: RefreshCheck) => void = () => undefined;
    const slow = new Promise<RefreshCheck>((resolve) => (release = resolve));
    let calls = 0;
    const refresher: TokenRefresher = async () => (++calls === 1 ? slow : { ok: true, principal: { ...principal0, expiresAtMs: NOW_MS + 60_000 }, organizations: ['acme'] });
    const principal0: Principal = { userId: 'u1', organizations: ['acme'], issuedAtMs: NOW_MS - 60_000, expiresAtMs: NOW_MS + 10_000, scopes: [] };
    const { feedOf, append, connect, clock } = setup({ refresher });
    const [acme0] = await append('acme', 1);
    feedOf('acme').deliver(acme0!);
    const { session } = connect(principal0, { acme: live(acme0!.id) });
    session.onText('{"event_type":"auth.refresh","data":{"token":"older"}}', clock.ms);
    session.onText('{"event_type":"auth.refresh","data":{"token":"newer"}}', clock.ms);
    await settle();
    expect(session.expiresAtMs).toBe(NOW_MS + 60_000);
    release({ ok: true, principal: { ...principal0, expiresAtMs: NOW_MS + 20_000 }, organizations: ['acme'] });
    await settle();
    expect(session.expiresAtMs).toBe(NOW_MS + 60_000);

    const plain = setup();
    const [first] = await plain.append('acme', 1);
    plain.feedOf('acme').deliver(first!);
    const other = plain.connect(principal0, { acme: live(first!.id) });
    other.session.onText('{"event_type":"auth.refresh","data":{"token":"t"}}', plain.clock.ms);
    expect(other.socket.frames().at(-1)).toMatchObject({ event_type: 'error', data: { code: 'refresh_failed' } });
  });

  it('sends connection.established first, with the plan\'s cursor and recovered map, then catches up and goes live', async () => {
    const { manager, feedOf, append, principal, connect, metrics } = setup();
    const acme = await append('acme', 3);
    const globex = await append('globex', 1);
    for (const frame of acme) feedOf('acme').deliver(frame);
    feedOf('globex').deliver(globex[0]!);

    const { session, socket } = connect(principal('u1', ['acme', 'globex']), {
      acme: { position: acme[0]!.id, replay: acme.slice(1) },
      globex: live(globex[0]!.id),
    }, { recovered: { acme: true, globex: false } });

    expect(socket.frames()[0]).toEqual({
      event_type: 'connection.established',
      data: {
        connection_id: session.id,
        user_id: 'u1',
        organizations: ['acme', 'globex'],
        recovered: { acme: true, globex: false },
        resume: formatResume(new Map([['acme', acme[0]!.id], ['globex', globex[0]!.id]])),
        heartbeat_interval_ms: 1_000,
        heartbeat_timeout_ms: 3_000,
        max_payload_bytes: 4_096,
        pod: 'pod-a',
        token_expires_at: new Date(NOW_MS + 10_000).toISOString(),
        refresh_in_ms: 5_000, // half of what is left, at most 30 s before exp
      },
    });
    expect(socket.after()).toEqual([acme[1]!.id, acme[2]!.id]);
    expect([...socket.topics]).toEqual(['o/acme', 'o/globex']);
    expect(session.catchUps).toBeUndefined();

    // Registered, counted, and live: the next routed frame reaches the socket through its topic.
    expect(manager.size).toBe(1);
    expect(manager.connectionsOfUser('u1')).toBe(1);
    expect(manager.userCounts()).toEqual(new Map([['u1', 1]]));
    expect(await counter(metrics, 'orgcast_connections')).toBe(1);
    expect(await counter(metrics, 'orgcast_connections_accepted_total')).toBe(1);
    expect(await counter(metrics, 'orgcast_catch_ups_total', { outcome: 'live' })).toBe(2);
    const [next] = await append('acme', 1);
    feedOf('acme').deliver(next!);
    expect(socket.after()).toEqual([acme[1]!.id, acme[2]!.id, next!.id]);
  });

  it('leaves recovered out of connection.established when nothing was resumed', () => {
    const { principal, connect } = setup();
    const { socket } = connect(principal('u1', []), {});
    expect(socket.frames()[0]!.data).not.toHaveProperty('recovered');
    expect(socket.frames()[0]!.data).toMatchObject({ organizations: [], resume: '' });
  });

  it('on close releases the feed interest once per organization, unregisters and counts the reason', async () => {
    const { manager, feedOf, principal, connect, interest, closedSessions, metrics } = setup();
    feedOf('acme').startAt('0-0');
    feedOf('globex').startAt('0-0');
    const first = connect(principal('u1', ['acme', 'globex']), { acme: live('0-0'), globex: live('0-0') });
    const second = connect(principal('u1', ['acme']), { acme: live('0-0') });
    expect(Object.fromEntries(interest)).toEqual({ acme: 2, globex: 1 });

    manager.closed(first.session, CloseCode.Normal);
    expect(Object.fromEntries(interest)).toEqual({ acme: 1, globex: 0 });
    expect(first.session.status).toBe('closed');
    expect(closedSessions).toEqual([first.session]);
    expect(manager.size).toBe(1);
    expect(manager.connectionsOfUser('u1')).toBe(1);
    expect(await counter(metrics, 'orgcast_connections')).toBe(1);
    expect(await counter(metrics, 'orgcast_connections_closed_total', { reason: 'client' })).toBe(1);

    manager.closed(second.session, CloseCode.MessageTooBig);
    expect(Object.fromEntries(interest)).toEqual({ acme: 0, globex: 0 });
    expect(await counter(metrics, 'orgcast_connections_closed_total', { reason: 'protocol_violation' })).toBe(1);
    // A membership change for the user finds nobody any more.
    expect(manager.applyMembership(removed('acme'), '0-0')).toBe(0);
  });

  it('revokes a live organization once its feed delivered the removal\'s position, and nothing after it arrives', async () => {
    const { manager, feedOf, append, principal, connect, interest } = setup();
    const [a1] = await append('acme', 1);
    feedOf('acme').deliver(a1!);
    const { socket } = connect(principal('u1', ['acme']), { acme: live(a1!.id) });
    // a2 and a3 are in history, not yet delivered by this pod's feed; the removal comes after a2.
    const [a2, a3] = await append('acme', 2);

    expect(manager.applyMembership(removed('acme'), a2!.id)).toBe(1);
    expect(socket.after()).toEqual([]);
    expect(socket.topics.has('o/acme')).toBe(true);

    await settle(); // the feed syncs from history: a2, the revocation, then a3 to nobody
    expect(feedOf('acme').lastId).toBe(a3!.id);
    expect(socket.after()).toEqual([a2!.id, 'organization.access.revoked acme']);
    expect(socket.frames()[2]).toEqual({ event_type: 'organization.access.revoked', data: { organization_id: 'acme' } });
    expect(socket.topics.has('o/acme')).toBe(false);
    expect(interest.get('acme')).toBe(0);
    expect(manager.applyMembership(removed('acme'), a3!.id)).toBe(0);
  });

  it('revokes at once when the feed already delivered the removal\'s position, counting a removal heard late', async () => {
    const { manager, feedOf, append, principal, connect, interest, metrics } = setup();
    const frames = await append('acme', 2);
    feedOf('acme').deliver(frames[0]!);
    const { socket } = connect(principal('u1', ['acme']), { acme: live(frames[0]!.id) });
    feedOf('acme').deliver(frames[1]!); // routed before this pod heard the removal at frames[0]
    expect(manager.applyMembership(removed('acme'), frames[0]!.id)).toBe(1);
    expect(socket.after()).toEqual([frames[1]!.id, 'organization.access.revoked acme']);
    expect(interest.get('acme')).toBe(0);
    expect(await counter(metrics, 'orgcast_membership_late_removals_total')).toBe(1);
  });

  it('stops a catch-up at a removal\'s position, revokes there, and never subscribes', async () => {
    const { manager, feedOf, append, principal, connect, interest, metrics } = setup();
    const frames = await append('acme', 5);
    for (const frame of frames) feedOf('acme').deliver(frame);
    const { session, socket } = connect(principal('u1', ['acme']), { acme: { position: '0-0', replay: frames } }, {}, (s) => void (s.slow = true));
    // The budget holds three frames: connection.established, frames[0], frames[1].
    expect(socket.after()).toEqual([frames[0]!.id, frames[1]!.id]);
    expect(session.catchUps?.has('acme')).toBe(true);

    expect(manager.applyMembership(removed('acme'), frames[2]!.id)).toBe(1);
    expect(socket.after()).toHaveLength(2);
    socket.drain();
    expect(socket.after()).toEqual([frames[0]!.id, frames[1]!.id, frames[2]!.id, 'organization.access.revoked acme']);
    expect(socket.topics.size).toBe(0);
    expect(session.catchUps).toBeUndefined();
    expect(interest.get('acme')).toBe(0);
    expect(await counter(metrics, 'orgcast_catch_ups_total', { outcome: 'stopped' })).toBe(1);

    socket.drain();
    expect(socket.after()).toHaveLength(4);
  });

  it('grants an organization: acquires its feed, sends access.granted with the position, then catches up from it', async () => {
    const { manager, feeds, feedOf, append, principal, connect, interest } = setup();
    feedOf('acme').startAt('0-0');
    const { socket } = connect(principal('u1', ['acme']), { acme: live('0-0') });
    const globex = await append('globex', 3);

    expect(manager.applyMembership(added('globex'), globex[0]!.id)).toBe(1);
    expect(manager.applyMembership(added('globex'), globex[0]!.id)).toBe(0); // already granted
    expect(interest.get('globex')).toBe(1);
    await settle();
    expect(socket.frames()[1]).toEqual({ event_type: 'organization.access.granted', data: { organization_id: 'globex', position: globex[0]!.id } });
    expect(socket.after()).toEqual(['organization.access.granted globex', globex[1]!.id, globex[2]!.id]);
    expect(socket.topics.has('o/globex')).toBe(true);
    expect(feeds.get('globex')!.lastId).toBe(globex[2]!.id);

    const [next] = await append('globex', 1);
    feedOf('globex').deliver(next!);
    expect(socket.after().at(-1)).toBe(next!.id);
  });

  it('takes a grant back when its feed cannot be bound, releasing the interest', async () => {
    const { manager, feedOf, principal, connect, interest, failingBinds } = setup();
    feedOf('acme').startAt('0-0');
    const { socket } = connect(principal('u1', ['acme']), { acme: live('0-0') });
    failingBinds.add('globex');
    expect(manager.applyMembership(added('globex'), '0-0')).toBe(1);
    await settle();
    expect(socket.after()).toEqual([]);
    expect(interest.get('globex')).toBe(0);
    failingBinds.delete('globex');
    expect(manager.applyMembership(added('globex'), '0-0')).toBe(1);
    await settle();
    expect(socket.after()).toEqual(['organization.access.granted globex']);
  });

  it('a removal right after a grant cuts at its position, even when the grant\'s catch-up reads history before the feed got there', async () => {
    const { manager, feedOf, feedReads, append, principal, connect } = setup({ bufferSize: 1 });
    const [a1, a2, a3] = await append('acme', 3);
    for (const frame of [a1!, a2!, a3!]) feedOf('acme').deliver(frame); // another member's feed; it keeps one frame
    feedOf('globex').startAt('0-0');
    const { socket } = connect(principal('u1', ['globex']), { globex: live('0-0') });
    const later = await append('acme', 3); // a4, a5 and a6, not routed here yet; the removal comes after a5
    const removalAt = later[1]!.id;

    // Two commands read in one batch: the grant, sequenced when a1 was acme's last id, and the removal.
    // The feed's sync towards the removal's position fails once (Redis away for a moment) and retries.
    feedReads.failNext = 1;
    expect(manager.applyMembership(added('acme'), a1!.id)).toBe(1);
    expect(manager.applyMembership(removed('acme'), removalAt)).toBe(1);
    await settle();

    // Every event after the grant's position up to the removal's, then the revocation; a6 never.
    // (Fails today: the removal came while the grant's feed acquire was pending, so it found no
    // catch-up to stop and waits on the feed; the grant's catch-up then reads history past it.)
    expect(socket.after()).toEqual(['organization.access.granted acme', a2!.id, a3!.id, later[0]!.id, later[1]!.id, 'organization.access.revoked acme']);
    expect(socket.topics.has('o/acme')).toBe(false);
  });

  it('a grant right after a removal that waits for the feed is not lost: the member keeps receiving after the grant\'s position', async () => {
    const { manager, feedOf, append, principal, connect } = setup();
    const [a1] = await append('acme', 1);
    feedOf('acme').deliver(a1!);
    const { socket } = connect(principal('u1', ['acme']), { acme: live(a1!.id) });
    const [a2] = await append('acme', 1); // in history, not routed here yet

    // Removed after a2 and added again right after (one batch of commands): nothing lies between.
    expect(manager.applyMembership(removed('acme'), a2!.id)).toBe(1);
    manager.applyMembership(added('acme'), a2!.id);
    await settle();
    const [a3] = await append('acme', 1);
    feedOf('acme').deliver(a3!);
    await settle();

    // (Fails today: the grant finds the organization still registered, pending the revocation,
    // and is dropped; the revocation then takes it away for good.)
    const received = socket.after();
    expect(received[0]).toBe(a2!.id);
    expect(received.at(-1)).toBe(a3!.id);
    expect(socket.topics.has('o/acme')).toBe(true);
  });

  it('a grant right after a removal that stops a catch-up follows the revocation, from its own position', async () => {
    const { manager, feedOf, append, principal, connect, interest } = setup();
    const frames = await append('acme', 5);
    for (const frame of frames) feedOf('acme').deliver(frame);
    const { socket } = connect(principal('u1', ['acme']), { acme: { position: '0-0', replay: frames } }, {}, (s) => void (s.slow = true));
    expect(socket.after()).toEqual([frames[0]!.id, frames[1]!.id]);

    // Removed after frames[2], added again after frames[3]: frames[3] is not the member's.
    expect(manager.applyMembership(removed('acme'), frames[2]!.id)).toBe(1);
    expect(manager.applyMembership(added('acme'), frames[3]!.id)).toBe(1);
    expect(manager.applyMembership(added('acme'), frames[3]!.id)).toBe(0); // already waiting to be granted
    socket.slow = false;
    socket.drain();
    await settle();
    expect(socket.after()).toEqual([frames[0]!.id, frames[1]!.id, frames[2]!.id, 'organization.access.revoked acme', 'organization.access.granted acme', frames[4]!.id]);
    expect(socket.topics.has('o/acme')).toBe(true);
    expect(interest.get('acme')).toBe(1);
  });

  it('grant, removal and grant again in one batch take effect in order', async () => {
    const { manager, feedOf, append, principal, connect, interest } = setup();
    feedOf('globex').startAt('0-0');
    const { socket } = connect(principal('u1', ['globex']), { globex: live('0-0') });
    const acme = await append('acme', 4);

    expect(manager.applyMembership(added('acme'), acme[0]!.id)).toBe(1);
    expect(manager.applyMembership(removed('acme'), acme[1]!.id)).toBe(1);
    expect(manager.applyMembership(added('acme'), acme[2]!.id)).toBe(1);
    await settle();
    expect(socket.after()).toEqual([
      'organization.access.granted acme', acme[1]!.id, 'organization.access.revoked acme',
      'organization.access.granted acme', acme[3]!.id,
    ]);
    expect(socket.topics.has('o/acme')).toBe(true);
    expect(interest.get('acme')).toBe(1);
  });

  it('a reconcile that revokes a grant still binding ends it: the late bind starts no catch-up', async () => {
    const { manager, feedOf, append, membership, principal, connect, interest, heldBinds } = setup();
    feedOf('globex').startAt('0-0');
    const { socket } = connect(principal('u1', ['globex']), { globex: live('0-0') });
    const [a1] = await append('acme', 1);
    await membership.recordAdded('acme', 'u1', NOW_MS - 2_000);
    await membership.recordRemoved('acme', 'u1', NOW_MS - 1_000);
    let bind!: () => void;
    heldBinds.set('acme', new Promise<void>((resolve) => (bind = resolve)));

    expect(manager.applyMembership(added('acme'), '0-0')).toBe(1);
    expect(await manager.reconcile()).toBe(1); // the store no longer grants acme
    bind();
    await settle();
    feedOf('acme').deliver(a1!);
    expect(socket.after()).toEqual(['organization.access.revoked acme']);
    expect(socket.topics.has('o/acme')).toBe(false);
    expect(interest.get('acme')).toBe(0);
  });

  it('applies at open the changes made since admission read the memberships, for this user only', async () => {
    const { manager, feedOf, append, principal, connect, interest } = setup();
    const [a1] = await append('acme', 1);
    feedOf('acme').deliver(a1!);
    manager.applyMembership(added('initech'), '0-0'); // before admission: already in the token's view
    const changesSeen = manager.changeSequence();
    manager.applyMembership(removed('acme'), a1!.id);
    manager.applyMembership(added('globex'), '0-0');
    manager.applyMembership(added('hooli', 'u2'), '0-0');

    const { socket } = connect(principal('u1', ['acme']), { acme: live(a1!.id) }, { changesSeen });
    await settle();
    expect(socket.after()).toEqual(['organization.access.revoked acme', 'organization.access.granted globex']);
    expect([...socket.topics]).toEqual(['o/globex']);
    expect(Object.fromEntries(interest)).toEqual({ acme: 0, globex: 1 });
  });

  it('reconcile revokes what the membership store no longer grants and grants what it does, from history\'s last id', async () => {
    const { manager, feedOf, append, membership, principal, connect, interest } = setup();
    feedOf('acme').startAt('0-0');
    feedOf('globex').startAt('0-0');
    const initech = await append('initech', 2);
    const { socket } = connect(principal('u1', ['acme', 'globex']), { acme: live('0-0'), globex: live('0-0') });
    await membership.recordRemoved('globex', 'u1', NOW_MS - 1_000);
    await membership.recordAdded('initech', 'u1', NOW_MS - 1_000);

    expect(await manager.reconcile()).toBe(2);
    await settle();
    expect(socket.after()).toEqual(['organization.access.revoked globex', 'organization.access.granted initech']);
    expect(socket.frames()[2]!.data).toEqual({ organization_id: 'initech', position: initech[1]!.id });
    expect([...socket.topics].sort()).toEqual(['o/acme', 'o/initech']);
    expect(Object.fromEntries(interest)).toEqual({ acme: 1, globex: 0, initech: 1 });
    expect(await manager.reconcile()).toBe(0);
  });

  it('reconcile without grants only revokes', async () => {
    const { manager, feedOf, append, membership, principal, connect, interest } = setup();
    feedOf('acme').startAt('0-0');
    await append('initech', 1);
    const { socket } = connect(principal('u1', ['acme']), { acme: live('0-0') });
    await membership.recordRemoved('acme', 'u1', NOW_MS - 1_000);
    await membership.recordAdded('initech', 'u1', NOW_MS - 1_000);

    expect(await manager.reconcile(false)).toBe(1);
    await settle();
    expect(socket.after()).toEqual(['organization.access.revoked acme']);
    expect(interest.has('initech')).toBe(false);
  });

  it('sweep pings quiet sessions, closes silent ones, and closes at exp plus the token grace', () => {
    const { manager, clock, principal, connect } = setup();
    const quiet = connect(principal('u1', []), {});
    const chatty = connect(principal('u2', []), {});
    const sweepAt = (offsetMs: number) => {
      clock.ms = NOW_MS + offsetMs;
      chatty.session.touch(clock.ms);
      manager.sweep();
    };

    sweepAt(999);
    expect(quiet.socket.pings).toBe(0);
    sweepAt(1_000);
    expect(quiet.socket.pings).toBe(1);
    sweepAt(1_500);
    expect(quiet.socket.pings).toBe(1); // pinged less than an interval ago
    sweepAt(2_000);
    expect(quiet.socket.pings).toBe(2);
    expect(quiet.socket.ended).toBeUndefined();
    sweepAt(3_000);
    expect(quiet.socket.ended?.code).toBe(CloseCode.HeartbeatTimeout);
    expect(quiet.session.closeReason).toBe('heartbeat_timeout');

    sweepAt(11_999); // exp is at 10 000, the grace 2 000
    expect(chatty.socket.ended).toBeUndefined();
    expect(chatty.socket.pings).toBe(0);
    sweepAt(12_000);
    expect(chatty.socket.ended?.code).toBe(CloseCode.TokenExpired);
    expect(chatty.session.closeReason).toBe('token_expired');
  });

  it('closes with 1011 and counts a handler error when opening throws', async () => {
    const { manager, feedOf, principal, connect, metrics, interest } = setup();
    feedOf('acme').startAt('0-0');
    const { session, socket } = connect(principal('u1', ['acme']), { acme: live('0-0') }, {}, (s) => void (s.throwOnSend = true));
    expect(socket.ended?.code).toBe(CloseCode.InternalError);
    expect(session.closeReason).toBe('internal_error');
    expect(await counter(metrics, 'orgcast_handler_errors_total', { handler: 'open' })).toBe(1);
    // Still registered until the socket's close arrives, which releases what it held.
    expect(manager.size).toBe(1);
    manager.closed(session, CloseCode.InternalError);
    expect(manager.size).toBe(0);
    expect(interest.get('acme')).toBe(0);
    expect(await counter(metrics, 'orgcast_connections_closed_total', { reason: 'internal_error' })).toBe(1);
  });

  it('closes with 1013 when a catch-up fails (the organization is not bound here)', async () => {
    const { principal, manager, metrics } = setup();
    const socket = new FakeSocket(new Topics());
    const session = manager.open(socket, principal('u1', ['gone']), ['gone'], { recovered: {}, starts: new Map([['gone', live('0-0')]]), changesSeen: 0 });
    expect(socket.ended?.code).toBe(CloseCode.TryAgainLater);
    expect(session.closeReason).toBe('internal_error');
    expect(await counter(metrics, 'orgcast_catch_ups_total', { outcome: 'failed' })).toBe(1);
  });
});
