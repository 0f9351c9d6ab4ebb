import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, type OrgcastClient } from './client.js';
import type { ClientOptions } from './client-options.js';
import type { ResyncNotice } from './connection/resync.js';
import { ClientOptionsError, ConnectError, HeartbeatTimeoutError, TokenError, type OrgcastClientError } from './errors.js';
import type { OrganizationEvent } from './protocol/frames.js';
import type { ClientStatus } from './status.js';
import { FakePollServer, pollBody } from './testing/fake-fetch.js';
import { FakeWebSocketServer } from './testing/fake-websocket.js';

/** Lets pending promise callbacks (token, parsing) run without moving the clock. */
const flush = (): Promise<void> => vi.advanceTimersByTimeAsync(0).then(() => undefined);

interface Harness {
  client: OrgcastClient<{ id: string }>;
  ws: FakeWebSocketServer;
  polls: FakePollServer;
  statuses: ClientStatus[];
  events: OrganizationEvent[];
  resyncs: ResyncNotice[];
  errors: OrgcastClientError[];
  tokens: number;
}

function start(options: Partial<ClientOptions> = {}): Harness {
  const ws = new FakeWebSocketServer();
  const polls = new FakePollServer();
  const harness = { ws, polls, statuses: [], events: [], resyncs: [], errors: [], tokens: 0 } as unknown as Harness;
  harness.client = createClient<{ id: string }>({
    url: 'https://rt.example.com',
    getToken: () => `token-${++harness.tokens}`,
    WebSocket: ws.WebSocket,
    fetch: polls.fetch,
    random: () => 0.5,
    ...options,
  });
  harness.client.onStatus((s) => harness.statuses.push(s));
  harness.client.on('*', (e) => harness.events.push(e));
  harness.client.on('resync', (n) => harness.resyncs.push(n));
  harness.client.on('error', (e) => harness.errors.push(e));
  return harness;
}

const types = (statuses: ClientStatus[]): string[] => statuses.map((s) => (s.type === 'connecting' || s.type === 'reconnecting' ? `${s.type}:${s.transport}` : s.type));
const ids = (events: OrganizationEvent[]): string[] => events.map((e) => `${e.organization_id}/${e.id}`);

describe('createClient', () => {
  let harness: Harness | undefined;

  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(async () => {
    await harness?.client.close();
    harness = undefined;
    vi.useRealTimers();
  });

  it('validates its options up front, naming every problem', () => {
    expect(() => createClient({ url: 'ftp://x', getToken: undefined as never, baseDelayMs: -1 })).toThrow(ClientOptionsError);
    try {
      createClient({ url: 'ftp://x', getToken: undefined as never, baseDelayMs: -1, WebSocket: new FakeWebSocketServer().WebSocket });
    } catch (error) {
      expect((error as Error).message).toMatch(/getToken must be a function.*baseDelayMs must be a positive number.*http\(s\) or ws\(s\)/);
    }
    expect(() => createClient({ url: 'http://x', getToken: () => 't', WebSocket: undefined })).toThrow(/no WebSocket implementation/);
  });

  it('connects with the token, reports the status and hands events to typed listeners', async () => {
    harness = start();
    const created: string[] = [];
    const updated: string[] = [];
    harness.client.on('task.event.created', (e) => created.push(e.data.id));
    harness.client.on('task.event.updated', (e) => updated.push(e.data.id));
    const other: string[] = [];
    harness.client.on('task.event.archived', (e) => other.push(e.id));
    await flush();
    const socket = harness.ws.last;
    expect(socket.url.startsWith('wss://rt.example.com/api/ws?')).toBe(true);
    expect(socket.query.get('access_token')).toBe('token-1');
    expect(socket.query.has('resume')).toBe(false);
    socket.establish(['acme', 'globex']);
    expect(harness.client.status).toMatchObject({ type: 'connected', transport: 'websocket', organizations: ['acme', 'globex'], pod: 'pod-a' });
    socket.event('acme', '100-0');
    socket.event('globex', '50-0', 'task.event.updated');
    socket.event('acme', '101-0', 'task.event.archived');
    expect(created).toEqual(['100-0']);
    expect(updated).toEqual(['50-0']);
    expect(other).toEqual(['101-0']);
    expect(ids(harness.events)).toEqual(['acme/100-0', 'globex/50-0', 'acme/101-0']);
    expect(types(harness.statuses)).toEqual(['connecting:websocket', 'connected']);
  });

  it('on an event whose prev is not the last id seen, delivers nothing of it and resumes from that id', async () => {
    harness = start();
    await flush();
    const first = harness.ws.last;
    first.establish(['acme'], { resume: 'acme:99-0' });
    first.receive({ event_type: 'task.event.created', id: '100-0', prev: '99-0', organization_id: 'acme', data: { id: 'a' } });
    // 101-0 was lost on the way: 102-0 names it as its prev.
    first.receive({ event_type: 'task.event.created', id: '102-0', prev: '101-0', organization_id: 'acme', data: { id: 'c' } });
    first.receive({ event_type: 'task.event.created', id: '103-0', prev: '102-0', organization_id: 'acme', data: { id: 'd' } });
    expect(ids(harness.events)).toEqual(['acme/100-0']);
    await flush();
    expect(harness.errors.map((e) => e.message).join()).toMatch(/did not arrive: resuming from 100-0/);
    await vi.advanceTimersByTimeAsync(1_000);
    const second = harness.ws.last;
    expect(second).not.toBe(first);
    expect(second.query.get('resume')).toBe('acme:100-0');
    second.establish(['acme'], { recovered: { acme: true }, resume: 'acme:100-0' });
    for (const [id, prev] of [['101-0', '100-0'], ['102-0', '101-0'], ['103-0', '102-0']] as const) {
      second.receive({ event_type: 'task.event.created', id, prev, organization_id: 'acme', data: { id } });
    }
    expect(ids(harness.events)).toEqual(['acme/100-0', 'acme/101-0', 'acme/102-0', 'acme/103-0']);
    expect(harness.resyncs).toEqual([]);
  });

  it('surfaces organization.resync as a resync notice, and takes the next event as the start of a new chain', async () => {
    harness = start();
    await flush();
    const socket = harness.ws.last;
    socket.establish(['acme'], { resume: 'acme:5-0' });
    socket.receive({ event_type: 'organization.resync', data: { organization_id: 'acme', reason: 'history_truncated' } });
    socket.receive({ event_type: 'task.event.created', id: '90-0', prev: '89-0', organization_id: 'acme', data: { id: 'x' } });
    socket.receive({ event_type: 'task.event.created', id: '91-0', prev: '90-0', organization_id: 'acme', data: { id: 'y' } });
    expect(harness.resyncs).toEqual([{ organizationId: 'acme', reason: 'history_truncated' }]);
    expect(ids(harness.events)).toEqual(['acme/90-0', 'acme/91-0']);
    expect(harness.ws.sockets).toHaveLength(1);
  });

  it('starts the chain of a granted organization at the grant\'s position', async () => {
    harness = start();
    await flush();
    const socket = harness.ws.last;
    socket.establish(['acme']);
    socket.receive({ event_type: 'organization.access.granted', data: { organization_id: 'globex', position: '40-0' } });
    socket.receive({ event_type: 'task.event.created', id: '41-0', prev: '40-0', organization_id: 'globex', data: { id: 'g' } });
    expect(ids(harness.events)).toEqual(['globex/41-0']);
    expect(harness.client.resumeCursor()).toBe('globex:41-0');
  });

  it('reconnects after a drop, resumes from the last id per organization and drops replayed duplicates', async () => {
    harness = start();
    await flush();
    harness.ws.last.establish(['acme', 'globex']);
    harness.ws.last.event('acme', '100-0');
    harness.ws.last.event('acme', '100-1');
    harness.ws.last.event('globex', '7-3');
    harness.ws.last.closed(1006);
    const reconnecting = harness.client.status;
    // First retry after a working connection: full jitter over [0, baseDelayMs); random() = 0.5.
    expect(reconnecting).toMatchObject({ type: 'reconnecting', transport: 'websocket', attempt: 1, delayMs: 250 });
    await vi.advanceTimersByTimeAsync(249);
    expect(harness.ws.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    const socket = harness.ws.last;
    expect(harness.ws.sockets).toHaveLength(2);
    expect(socket.query.get('resume')).toBe('acme:100-1,globex:7-3');
    socket.establish(['acme', 'globex'], { recovered: { acme: true, globex: true } });
    // The gateway replays from the cursor; a replay overlapping what was seen is dropped.
    socket.event('acme', '100-1');
    socket.event('acme', '100-2');
    socket.event('globex', '7-3');
    socket.event('globex', '8-0');
    expect(ids(harness.events)).toEqual(['acme/100-0', 'acme/100-1', 'globex/7-3', 'acme/100-2', 'globex/8-0']);
    expect(harness.resyncs).toEqual([]);
    expect(types(harness.statuses)).toEqual(['connecting:websocket', 'connected', 'reconnecting:websocket', 'connecting:websocket', 'connected']);
    expect(harness.tokens).toBe(1);
  });

  it('surfaces recovered: false, and organizations it could not resume, as resync notices', async () => {
    harness = start();
    await flush();
    harness.ws.last.establish(['acme', 'globex', 'initech']);
    harness.ws.last.event('acme', '1-0');
    harness.ws.last.event('globex', '1-0');
    harness.ws.last.closed(1012);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(harness.ws.last.query.get('resume')).toBe('acme:1-0,globex:1-0');
    harness.ws.last.establish(['acme', 'globex', 'initech', 'newco'], { recovered: { acme: true, globex: false } });
    expect(harness.resyncs).toEqual([
      { organizationId: 'globex', reason: 'history_truncated' },
      // No event seen for initech: nothing to resume from. newco is new: the application loads it anyway.
      { organizationId: 'initech', reason: 'not_resumable' },
    ]);
  });

  it('starts an organization that could not be resumed where the gateway says, even below the old position', async () => {
    harness = start();
    await flush();
    harness.ws.last.establish(['acme']);
    harness.ws.last.event('acme', '500-0');
    harness.ws.last.closed(1012);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(harness.ws.last.query.get('resume')).toBe('acme:500-0');
    // History was lost, and the new one's clock is behind: its ids are below what this client saw.
    harness.ws.last.establish(['acme'], { recovered: { acme: false }, resume: 'acme:0-0' });
    harness.ws.last.receive({ event_type: 'task.event.created', id: '300-0', prev: '0-0', organization_id: 'acme', data: { id: 'n' } });
    expect(ids(harness.events)).toEqual(['acme/500-0', 'acme/300-0']);
    expect(harness.resyncs).toEqual([{ organizationId: 'acme', reason: 'history_truncated' }]);
    expect(harness.ws.sockets).toHaveLength(2);
  });

  it('backs off when the gap it resumes for comes back every time, instead of replaying in a tight loop', async () => {
    harness = start();
    await flush();
    const delays: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      const socket = harness.ws.last;
      socket.establish(['acme'], { resume: 'acme:99-0' });
      socket.receive({ event_type: 'task.event.created', id: '102-0', prev: '101-0', organization_id: 'acme', data: { id: 'c' } });
      await flush();
      socket.closed(1000);
      const status = harness.client.status;
      if (status.type === 'reconnecting') delays.push(status.delayMs);
      await vi.advanceTimersByTimeAsync(60_000);
    }
    expect(delays).toHaveLength(3);
    expect(delays[2]!).toBeGreaterThan(delays[0]!);
  });

  it('backs off exponentially with full jitter, one attempt at a time, and gives up after maxAttempts', async () => {
    harness = start({ baseDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 5, polling: false, random: () => 0.999 });
    const delays: number[] = [];
    harness.client.onStatus((s) => {
      if (s.type === 'reconnecting') delays.push(s.delayMs);
    });
    await flush();
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      expect(harness.ws.live).toHaveLength(1);
      harness.ws.last.refuse(undefined);
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(delays).toEqual([199, 399, 799, 999]);
    expect(harness.client.status).toMatchObject({ type: 'closed', reason: 'max_attempts' });
    expect((harness.client.status as { error: unknown }).error).toBeInstanceOf(ConnectError);
    expect(harness.ws.sockets).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(harness.ws.sockets).toHaveLength(5);
  });

  it('stops for good on a terminal close code', async () => {
    harness = start();
    await flush();
    harness.ws.last.establish(['acme']);
    harness.ws.last.closed(4403, 'revoked');
    expect(harness.client.status).toMatchObject({ type: 'closed', reason: 'terminal', error: { name: 'ConnectionClosedError', code: 4403 } });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(harness.ws.sockets).toHaveLength(1);
    expect(harness.polls.requests).toHaveLength(0);
  });

  it('stops when the upgrade is refused with 403 (forbidden origin)', async () => {
    harness = start();
    await flush();
    harness.ws.last.refuse(403);
    expect(harness.client.status).toMatchObject({ type: 'closed', reason: 'terminal', error: { httpStatus: 403 } });
  });

  it('asks for a new token after 4100, a 401, and a refusal it cannot read; reuses it otherwise', async () => {
    harness = start({ polling: false });
    await flush();
    harness.ws.last.establish(['acme']);
    harness.ws.last.closed(1006);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(harness.ws.last.query.get('access_token')).toBe('token-1');
    harness.ws.last.establish(['acme']);
    harness.ws.last.closed(4100, 'token expired');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(harness.ws.last.query.get('access_token')).toBe('token-2');
    harness.ws.last.refuse(401);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(harness.ws.last.query.get('access_token')).toBe('token-3');
    harness.ws.last.refuse(undefined); // a browser: no status, may have been a 401
    await vi.advanceTimersByTimeAsync(2_000);
    expect(harness.ws.last.query.get('access_token')).toBe('token-4');
  });

  it('reconnects when something other than the gateway closes with 1000', async () => {
    harness = start();
    await flush();
    harness.ws.last.establish(['acme']);
    harness.ws.last.closed(1000);
    expect(harness.client.status.type).toBe('reconnecting');
  });

  it('retries when getToken fails, reporting a TokenError', async () => {
    let calls = 0;
    harness = start({
      getToken: async () => {
        calls += 1;
        if (calls === 1) throw new Error('auth server down');
        return 'good';
      },
    });
    await flush();
    expect(harness.ws.sockets).toHaveLength(0);
    expect(harness.errors[0]).toBeInstanceOf(TokenError);
    expect(harness.errors[0]!.cause).toMatchObject({ message: 'auth server down' });
    expect(harness.client.status).toMatchObject({ type: 'reconnecting', attempt: 2 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(harness.ws.last.query.get('access_token')).toBe('good');
  });

  it('pings every heartbeat interval and reconnects when no pong comes back', async () => {
    harness = start({ pongTimeoutMs: 2_000 });
    await flush();
    const socket = harness.ws.last;
    socket.establish(['acme'], { heartbeat_interval_ms: 1_000 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(socket.sent).toEqual(['{"event_type":"ping"}']);
    socket.receive({ event_type: 'pong' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(socket.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(harness.client.status.type).toBe('connected');
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.clientClose).toEqual({ code: 4001, reason: 'heartbeat timeout' });
    expect(harness.errors.at(-1)).toBeInstanceOf(HeartbeatTimeoutError);
    expect(harness.client.status).toMatchObject({ type: 'reconnecting', attempt: 1 });
  });

  it('fails an attempt that never gets connection.established', async () => {
    harness = start({ connectTimeoutMs: 5_000, polling: false });
    await flush();
    harness.ws.last.open();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(harness.ws.sockets[0]!.clientClose?.code).toBe(1000);
    expect(harness.client.status).toMatchObject({ type: 'reconnecting', error: { name: 'ConnectError' } });
  });

  it('falls back to polling after N failed attempts with the same cursor, then upgrades back without loss or duplicates', async () => {
    harness = start({ pollingAfterFailures: 2, upgradeIntervalMs: 10_000, pollTimeoutMs: 20_000 });
    await flush();
    harness.ws.last.establish(['acme', 'globex']);
    harness.ws.last.event('acme', '10-0');
    harness.ws.last.event('globex', '20-0');
    harness.ws.last.closed(1006);
    // Two failed attempts (e.g. a proxy now blocks WebSockets) → polling.
    await vi.advanceTimersByTimeAsync(1_000);
    harness.ws.last.refuse(undefined);
    await vi.advanceTimersByTimeAsync(1_000);
    harness.ws.last.refuse(undefined);
    await flush();
    expect(harness.client.status).toMatchObject({ type: 'connecting', transport: 'polling' });
    const first = harness.polls.last;
    expect(first.url.toString().startsWith('https://rt.example.com/api/poll?')).toBe(true);
    expect(first.url.searchParams.get('resume')).toBe('acme:10-0,globex:20-0');
    // The first poll returns at once; the following ones wait.
    expect(first.url.searchParams.get('timeout_ms')).toBe('0');
    first.respond(200, pollBody([{ org: 'acme', id: '10-0' }, { org: 'acme', id: '11-0' }], 'acme:11-0,globex:20-0', { acme: true, globex: true }));
    await flush();
    expect(harness.client.status).toEqual({ type: 'polling', transport: 'polling', organizations: ['acme', 'globex'] });
    const second = harness.polls.last;
    expect(second.url.searchParams.get('resume')).toBe('acme:11-0,globex:20-0');
    expect(second.url.searchParams.get('timeout_ms')).toBe('20000');
    second.respond(200, pollBody([{ org: 'globex', id: '21-0' }], 'acme:11-0,globex:21-0', { acme: true, globex: true }));
    await flush();
    expect(harness.polls.pending).toHaveLength(1);

    // The background upgrade: between 5 and 10 s (random() = 0.5 → 7.5 s).
    const socketsBefore = harness.ws.sockets.length;
    await vi.advanceTimersByTimeAsync(7_500);
    expect(harness.ws.sockets).toHaveLength(socketsBefore + 1);
    const upgrade = harness.ws.last;
    expect(upgrade.query.get('resume')).toBe('acme:11-0,globex:21-0');
    // While the upgrade connects, the poll delivers one more event...
    harness.polls.last.respond(200, pollBody([{ org: 'acme', id: '12-0' }], 'acme:12-0,globex:21-0'));
    await flush();
    // ...which the WebSocket replays too (it resumed from an older cursor): delivered once.
    upgrade.establish(['acme', 'globex'], { recovered: { acme: true, globex: true } });
    upgrade.event('acme', '12-0');
    upgrade.event('acme', '13-0');
    expect(harness.client.status.type).toBe('connected');
    expect(harness.polls.pending).toHaveLength(0);
    expect(harness.polls.last.signal.aborted).toBe(true);
    expect(ids(harness.events)).toEqual(['acme/10-0', 'globex/20-0', 'acme/11-0', 'globex/21-0', 'acme/12-0', 'acme/13-0']);
    expect(harness.resyncs).toEqual([]);
    expect(types(harness.statuses)).toEqual([
      'connecting:websocket', 'connected', 'reconnecting:websocket', 'connecting:websocket', 'reconnecting:websocket', 'connecting:websocket',
      'connecting:polling', 'polling', 'connected',
    ]);
  });

  it('keeps polling when a background upgrade fails, without changing the status', async () => {
    harness = start({ pollingAfterFailures: 0, upgradeIntervalMs: 10_000 });
    await flush();
    expect(harness.ws.sockets).toHaveLength(0);
    expect(harness.polls.last.url.searchParams.has('resume')).toBe(false);
    harness.polls.last.respond(200, pollBody([], 'acme:5-0'));
    await flush();
    expect(harness.client.status.type).toBe('polling');
    await vi.advanceTimersByTimeAsync(7_500);
    harness.ws.last.refuse(undefined);
    await flush();
    expect(harness.client.status.type).toBe('polling');
    expect(harness.errors.at(-1)).toBeInstanceOf(ConnectError);
    await vi.advanceTimersByTimeAsync(7_500);
    expect(harness.ws.sockets).toHaveLength(2);
    expect(harness.ws.last.query.get('resume')).toBe('acme:5-0');
  });

  it('retries failed polls with backoff, refreshing the token after a 401 and honouring Retry-After', async () => {
    harness = start({ pollingAfterFailures: 0 });
    await flush();
    harness.polls.last.respond(200, pollBody([], 'acme:5-0'));
    await flush();
    harness.polls.last.respond(401, { error: 'unauthorized', message: 'expired' });
    await flush();
    expect(harness.client.status).toMatchObject({ type: 'reconnecting', transport: 'polling', attempt: 2 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(harness.polls.last.headers.authorization).toBe('Bearer token-2');
    harness.polls.last.respond(503, { error: 'draining', message: '' }, { 'retry-after': '3' });
    await flush();
    expect(harness.client.status).toMatchObject({ type: 'reconnecting', delayMs: 3_000 });
    const count = harness.polls.requests.length;
    await vi.advanceTimersByTimeAsync(2_999);
    expect(harness.polls.requests).toHaveLength(count);
    await vi.advanceTimersByTimeAsync(1);
    expect(harness.polls.requests).toHaveLength(count + 1);
    expect(harness.polls.last.url.searchParams.get('resume')).toBe('acme:5-0');
  });

  it('stops when /api/poll answers 403', async () => {
    harness = start({ pollingAfterFailures: 0 });
    await flush();
    harness.polls.last.respond(403, { error: 'forbidden_origin', message: '' });
    await flush();
    expect(harness.client.status).toMatchObject({ type: 'closed', reason: 'terminal', error: { status: 403 } });
  });

  it('reports organization access changes and stops resuming revoked organizations', async () => {
    harness = start();
    const revoked: string[] = [];
    harness.client.on('organization.access.revoked', (f) => revoked.push(f.data.organization_id));
    await flush();
    harness.ws.last.establish(['acme', 'globex']);
    harness.ws.last.event('acme', '1-0');
    harness.ws.last.event('globex', '1-0');
    harness.ws.last.receive({ event_type: 'organization.access.revoked', data: { organization_id: 'globex' } });
    expect(revoked).toEqual(['globex']);
    expect(harness.client.resumeCursor()).toBe('acme:1-0');
  });

  it('reports an organization revoked while polling and stops polling it', async () => {
    harness = start({ pollingAfterFailures: 0 });
    const revoked: string[] = [];
    harness.client.on('organization.access.revoked', (f) => revoked.push(f.data.organization_id));
    await flush();
    harness.polls.last.respond(200, pollBody([], 'acme:5-0,globex:7-0'));
    await flush();
    harness.polls.last.respond(200, pollBody([{ org: 'acme', id: '6-0' }], 'acme:6-0', { acme: true }, ['globex']));
    await flush();
    expect(revoked).toEqual(['globex']);
    expect(ids(harness.events)).toEqual(['acme/6-0']);
    expect(harness.client.resumeCursor()).toBe('acme:6-0');
    expect(harness.polls.last.url.searchParams.get('resume')).toBe('acme:6-0');
  });

  it('refreshes its token in band when the gateway asks, with a fresh one from getToken, and again after each answer', async () => {
    harness = start();
    await flush();
    const socket = harness.ws.last;
    socket.establish(['acme'], { refresh_in_ms: 5_000, heartbeat_interval_ms: 600_000 }); // no pings to answer
    const refreshes = (): string[] => socket.sent.filter((t) => t.includes('auth.refresh'));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(refreshes()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(refreshes()).toEqual(['{"event_type":"auth.refresh","data":{"token":"token-2"}}']);
    socket.receive({ event_type: 'auth.refreshed', data: { token_expires_at: '2026-12-03T20:00:00.000Z', refresh_in_ms: 60_000, organizations: ['acme'] } });
    await vi.advanceTimersByTimeAsync(59_999);
    expect(refreshes()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(refreshes()).toEqual(['{"event_type":"auth.refresh","data":{"token":"token-2"}}', '{"event_type":"auth.refresh","data":{"token":"token-3"}}']);
    // A refusal is reported; the connection stays (it ends at the old token's expiry and reconnects).
    socket.receive({ event_type: 'error', data: { code: 'refresh_failed', message: 'the new token is for another user (sub); reconnect to change user' } });
    expect(harness.errors.at(-1)).toMatchObject({ name: 'ServerError' });
    expect(harness.client.status.type).toBe('connected');
  });

  it('reports error frames and malformed frames without dropping the connection', async () => {
    harness = start();
    await flush();
    harness.ws.last.establish(['acme']);
    harness.ws.last.receive({ event_type: 'error', data: { code: 'rate_limited', message: 'slow down' } });
    harness.ws.last.receive('{not json');
    expect(harness.errors.map((e) => e.name)).toEqual(['ServerError', 'ProtocolError']);
    expect(harness.client.status.type).toBe('connected');
  });

  it('isolates a throwing listener from the others and from the client', async () => {
    const reported: unknown[] = [];
    vi.stubGlobal('reportError', (error: unknown) => reported.push(error));
    try {
      harness = start();
      harness.client.on('task.event.created', () => {
        throw new Error('app bug');
      });
      await flush();
      harness.ws.last.establish(['acme']);
      harness.ws.last.event('acme', '1-0');
      expect(ids(harness.events)).toEqual(['acme/1-0']);
      expect(reported).toMatchObject([{ message: 'app bug' }]);
      expect(harness.client.status.type).toBe('connected');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('does nothing when closed in the tick it was created', async () => {
    harness = start({ pollingAfterFailures: 0 });
    await harness.client.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(harness.ws.sockets).toHaveLength(0);
    expect(harness.polls.requests).toHaveLength(0);
    expect(types(harness.statuses)).toEqual(['connecting:polling', 'closed']);
  });

  it('treats a rate-limit close as a failure (the pause grows) that does not count towards polling', async () => {
    harness = start({ pollingAfterFailures: 1 });
    await flush();
    harness.ws.last.establish(['acme']);
    harness.ws.last.closed(4008, 'rate limited');
    // Not a fresh start after a working session: attempt 2, ceiling 2 × base.
    expect(harness.client.status).toMatchObject({ type: 'reconnecting', transport: 'websocket', attempt: 2, delayMs: 500 });
    await vi.advanceTimersByTimeAsync(500);
    expect(harness.ws.sockets).toHaveLength(2);
    expect(harness.polls.requests).toHaveLength(0);
  });

  it('does not fall back to polling because getToken fails', async () => {
    let calls = 0;
    harness = start({
      pollingAfterFailures: 1,
      getToken: () => {
        calls += 1;
        if (calls < 4) throw new Error('auth down');
        return 'ok';
      },
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(harness.polls.requests).toHaveLength(0);
    expect(harness.ws.last.query.get('access_token')).toBe('ok');
  });

  it('close() ends everything, and the status iterator ends with closed', async () => {
    harness = start();
    const seen: string[] = [];
    const iteration = (async () => {
      for await (const status of harness.client.statuses()) seen.push(status.type);
    })();
    await flush();
    harness.ws.last.establish(['acme']);
    const socket = harness.ws.last;
    await harness.client.close();
    await iteration;
    expect(seen).toEqual(['connecting', 'connected', 'closed']);
    expect(socket.clientClose?.code).toBe(1000);
    expect(harness.client.status).toEqual({ type: 'closed', reason: 'client' });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(harness.ws.sockets).toHaveLength(1);
  });
});
