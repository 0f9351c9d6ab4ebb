import { backoffDelay } from '../backoff/backoff.js';
import { OrgcastClientError, PollError, ProtocolError, ServerError } from '../errors.js';
import { CloseCode, closeAdvice, type CloseAdvice } from '../protocol/close-codes.js';
import type { ConnectionEstablishedData, OrganizationAccessFrame, OrganizationEvent, PollResponse } from '../protocol/frames.js';
import { EventCursor } from '../resume/event-cursor.js';
import { compareEventIds } from '../resume/event-id.js';
import { decodeResume } from '../resume/resume-param.js';
import type { ClientStatus } from '../status.js';
import { withQuery, type Endpoints } from '../transport/endpoints.js';
import { poll } from '../transport/poll-request.js';
import type { FetchLike, WebSocketFactory } from '../transport/websocket-like.js';
import { WsConnection, type WsOutcome } from '../transport/ws-connection.js';
import { resyncNotices, type ResyncNotice } from './resync.js';
import { TokenSource } from './token-source.js';

export interface SupervisorSettings {
  readonly endpoints: Endpoints;
  readonly getToken: () => string | Promise<string>;
  readonly WebSocket: WebSocketFactory;
  /** Undefined: no polling fallback. */
  readonly fetch: FetchLike | undefined;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxAttempts: number;
  readonly pollingAfterFailures: number;
  readonly pollTimeoutMs: number;
  readonly pollGraceMs: number;
  readonly upgradeIntervalMs: number;
  readonly connectTimeoutMs: number;
  readonly pongTimeoutMs: number;
  readonly random: () => number;
  /** Fixed `affinity` value; undefined: a random one, replaced after a rebalance close. */
  readonly affinityKey: string | undefined;
}

/** Where the supervisor reports. Events arrive here deduplicated. */
export interface SupervisorSink {
  status(status: ClientStatus): void;
  event(event: OrganizationEvent): void;
  access(frame: OrganizationAccessFrame): void;
  resync(notice: ResyncNotice): void;
  error(error: OrgcastClientError): void;
}

/** The transport in charge: a WebSocket (connecting, live or waiting to retry), polling, or nothing ever again. */
type Phase =
  | { readonly kind: 'websocket' }
  | { readonly kind: 'polling'; readonly abort: AbortController }
  | { readonly kind: 'closed' };

/** Refreshes of one connection's token are at least this far apart. */
const MIN_REFRESH_INTERVAL_MS = 1_000;

/** The one WebSocket in flight: `foreground` in WebSocket mode, `upgrade` while polling. */
interface WsSlot {
  role: 'foreground' | 'upgrade';
  connection: WsConnection | undefined;
  /** An event was missed on this connection: it is being replaced. */
  gap?: boolean;
}

/** Whether `id` lies after `mark` (ids that cannot be ordered count as newer). */
function isNewer(id: string, mark: string): boolean {
  const order = compareEventIds(id, mark);
  return order === undefined || order > 0;
}

/**
 * The connection state machine. It owns the transports, the retry timers and the event cursor,
 * and guarantees: at most one WebSocket attempt in flight; events handed on at most once, in
 * order per organization, across reconnects and transport switches.
 */
export class Supervisor {
  private phase: Phase = { kind: 'websocket' };
  private ws: WsSlot | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private upgradeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The next in-band token refresh of the foreground WebSocket. */
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** Consecutive failed attempts (WebSocket or poll) since the last success. */
  private failures = 0;
  /** Consecutive failed WebSocket attempts: reaching `pollingAfterFailures` switches to polling. */
  private wsFailures = 0;
  /** Consecutive sessions closed because an event was missing: the backoff of the next resume. */
  private gapCloses = 0;
  /** Organizations of the current or last session; undefined before the first. */
  private followed: Set<string> | undefined;
  private readonly token: TokenSource;
  private readonly cursor = new EventCursor();
  /** The `affinity` query parameter: the load balancer's stickiness key. */
  private affinity: string;

  constructor(private readonly settings: SupervisorSettings, private readonly sink: SupervisorSink) {
    this.token = new TokenSource(settings.getToken);
    this.affinity = settings.affinityKey ?? randomAffinity(settings.random);
  }

  start(): void {
    if (this.phase.kind === 'closed') return;
    if (this.settings.fetch !== undefined && this.settings.pollingAfterFailures === 0) this.enterPolling();
    else this.connectWebSocket();
  }

  /** Stops everything for good; resolves when the WebSocket (if any) has closed. */
  close(): Promise<void> {
    return this.finish('client', undefined);
  }

  /** The `resume` value the next attempt would send (for diagnostics and tests). */
  resumeCursor(): string | undefined {
    return this.cursor.encode();
  }

  // --- WebSocket ---------------------------------------------------------------------------

  private connectWebSocket(): void {
    if (this.phase.kind !== 'websocket' || this.ws !== undefined) return;
    this.sink.status({ type: 'connecting', transport: 'websocket', attempt: this.failures + 1 });
    this.openWebSocket('foreground');
  }

  private openWebSocket(role: WsSlot['role']): void {
    const slot: WsSlot = { role, connection: undefined };
    this.ws = slot;
    this.token.get().then(
      (token) => {
        if (this.ws !== slot) return;
        const { settings } = this;
        slot.connection = new WsConnection({
          url: withQuery(settings.endpoints.websocket, { access_token: token, affinity: this.affinity, resume: this.cursor.encode() }),
          WebSocket: settings.WebSocket,
          connectTimeoutMs: settings.connectTimeoutMs,
          pongTimeoutMs: settings.pongTimeoutMs,
        }, {
          established: (data) => this.onEstablished(slot, data),
          frame: (frame) => {
            if (this.ws !== slot) return;
            if (frame.kind === 'event') this.deliverLive(slot, frame.frame);
            else if (frame.kind === 'access') this.onAccess(frame.frame);
            else if (frame.kind === 'refreshed') this.scheduleRefresh(slot, frame.frame.data.refresh_in_ms);
            else if (frame.kind === 'resync') this.onResync(frame.frame.data.organization_id, frame.frame.data.reason);
            else if (frame.kind === 'error') this.sink.error(new ServerError(frame.frame.data.code, frame.frame.data.message));
          },
          protocolError: (error) => this.sink.error(error),
          ended: (outcome) => this.onWsEnded(slot, outcome),
        });
      },
      (error: unknown) => {
        if (this.ws !== slot) return;
        this.ws = undefined;
        const clientError = asClientError(error);
        this.sink.error(clientError);
        if (slot.role === 'upgrade') this.scheduleUpgrade();
        else this.retryWebSocket(clientError, 'retry-later');
      },
    );
  }

  private onEstablished(slot: WsSlot, data: ConnectionEstablishedData): void {
    if (this.ws !== slot) return;
    this.failures = 0;
    this.wsFailures = 0;
    if (this.phase.kind === 'polling') {
      this.phase.abort.abort();
      clearTimeout(this.upgradeTimer);
      this.upgradeTimer = undefined;
      this.phase = { kind: 'websocket' };
      slot.role = 'foreground';
    }
    this.sink.status({
      type: 'connected',
      transport: 'websocket',
      connectionId: data.connection_id,
      userId: data.user_id,
      organizations: data.organizations,
      pod: data.pod,
    });
    this.startSession(data.organizations, data.recovered);
    if (typeof data.resume === 'string' && data.resume !== '') this.seedCursor(data.resume);
    this.scheduleRefresh(slot, data.refresh_in_ms);
  }

  /**
   * Refreshes the connection's token in band when the gateway asks (`refresh_in_ms`): a fresh token
   * from `getToken`, sent as `auth.refresh`. A refusal comes as an error frame; the connection then
   * lasts until the old token expires and reconnects with a fresh one. At most one a second.
   */
  private scheduleRefresh(slot: WsSlot, refreshInMs: number | undefined): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (refreshInMs === undefined || this.ws !== slot) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      if (this.ws !== slot) return;
      this.token.invalidate();
      this.token.get().then(
        (token) => {
          if (this.ws === slot) slot.connection?.refreshToken(token);
        },
        (error: unknown) => this.sink.error(asClientError(error)),
      );
    }, Math.max(MIN_REFRESH_INTERVAL_MS, refreshInMs));
  }

  /** Moves the cursor to where the gateway says this connection starts (never backwards). */
  private seedCursor(resume: string): void {
    let start: Map<string, string>;
    try {
      start = decodeResume(resume);
    } catch (error) {
      this.sink.error(new ProtocolError('connection.established carried an unreadable resume cursor', { cause: error }));
      return;
    }
    for (const [organizationId, id] of start) this.cursor.advance(organizationId, id);
  }

  private onWsEnded(slot: WsSlot, outcome: WsOutcome): void {
    if (this.ws !== slot) return;
    this.ws = undefined;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (this.phase.kind === 'closed') return;
    const advice = adviceFor(outcome);
    if (advice === 'stop') {
      void this.finish('terminal', outcome.error);
      return;
    }
    // Browsers cannot see the HTTP status of a refused upgrade: it may have been a 401.
    if (advice === 'refresh-token' || !outcome.opened) this.token.invalidate();
    // Shed to even out the pods: with the same key a consistent hash would send it straight back.
    if (outcome.code === CloseCode.Rebalance && this.settings.affinityKey === undefined) this.affinity = randomAffinity(this.settings.random);
    this.sink.error(outcome.error);
    if (slot.role === 'upgrade') {
      this.scheduleUpgrade();
      return;
    }
    // A gap that keeps coming back must not be a tight loop of replays: consecutive gap closes
    // count as failures (the backoff grows, and ends at maxAttempts).
    if (slot.gap) {
      this.gapCloses += 1;
      this.failures = this.gapCloses - 1;
    } else if (outcome.established) {
      this.gapCloses = 0;
    }
    // A rate-limit close asks for a pause: it counts as a failure, so the backoff grows.
    const kind = !outcome.established ? 'attempt-failed' : outcome.code === CloseCode.RateLimited || slot.gap ? 'retry-later' : 'session-ended';
    this.retryWebSocket(outcome.error, kind);
  }

  // --- polling -----------------------------------------------------------------------------

  private enterPolling(): void {
    const phase = { kind: 'polling', abort: new AbortController() } as const;
    this.phase = phase;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.scheduleUpgrade();
    this.pollLoop(phase).catch((error: unknown) => {
      // pollLoop handles its own failures; anything reaching here is a bug worth surfacing.
      this.sink.error(asClientError(error));
    });
  }

  private async pollLoop(phase: Extract<Phase, { kind: 'polling' }>): Promise<void> {
    const fetch = this.settings.fetch!;
    let live = false;
    while (this.phase === phase) {
      if (!live) this.sink.status({ type: 'connecting', transport: 'polling', attempt: this.failures + 1 });
      let response: PollResponse;
      let cursor: Map<string, string>;
      try {
        const token = await this.token.get();
        response = await poll({
          fetch,
          endpoint: this.settings.endpoints.poll,
          token,
          affinity: this.affinity,
          resume: this.cursor.encode(),
          timeoutMs: live ? this.settings.pollTimeoutMs : 0,
          graceMs: this.settings.pollGraceMs,
          signal: phase.abort.signal,
        });
        cursor = decodeResume(response.resume);
      } catch (error) {
        if (this.phase !== phase) return;
        const clientError = asClientError(error);
        if (clientError instanceof PollError && clientError.status === 403) {
          await this.finish('terminal', clientError);
          return;
        }
        if (clientError instanceof PollError && clientError.status === 401) this.token.invalidate();
        this.sink.error(clientError);
        this.failures += 1;
        if (this.failures >= this.settings.maxAttempts) {
          await this.finish('max_attempts', clientError);
          return;
        }
        const retryAfter = clientError instanceof PollError ? clientError.retryAfterMs ?? 0 : 0;
        const delayMs = Math.max(backoffDelay(this.settings, this.failures, this.settings.random), retryAfter);
        this.sink.status({ type: 'reconnecting', transport: 'polling', attempt: this.failures + 1, delayMs, error: clientError });
        live = false;
        await sleep(delayMs, phase.abort.signal);
        continue;
      }
      if (this.phase !== phase) return;
      this.failures = 0;
      const organizations = [...cursor.keys()];
      if (!live) {
        live = true;
        this.sink.status({ type: 'polling', transport: 'polling', organizations });
        this.startSession(organizations, response.recovered);
      } else {
        for (const [organizationId, recovered] of Object.entries(response.recovered)) {
          if (!recovered) this.sink.resync({ organizationId, reason: 'history_truncated' });
        }
        this.restartUnrecovered(response.recovered);
        this.followed = new Set(organizations);
      }
      for (const event of response.events) {
        if (this.phase !== phase) return;
        this.deliver(event);
      }
      for (const organizationId of response.revoked) {
        if (this.phase !== phase) return;
        this.onAccess({ event_type: 'organization.access.revoked', data: { organization_id: organizationId } });
      }
      for (const [organizationId, id] of cursor) this.cursor.advance(organizationId, id);
    }
  }

  private scheduleUpgrade(): void {
    clearTimeout(this.upgradeTimer);
    const interval = this.settings.upgradeIntervalMs;
    const delayMs = Math.floor(interval / 2 + this.settings.random() * (interval / 2));
    this.upgradeTimer = setTimeout(() => {
      this.upgradeTimer = undefined;
      if (this.phase.kind === 'polling' && this.ws === undefined) this.openWebSocket('upgrade');
    }, delayMs);
  }

  // --- shared ------------------------------------------------------------------------------

  /**
   * After a foreground WebSocket problem: `session-ended` (a connection that worked dropped: retry
   * soon), `attempt-failed` (counts towards the polling fallback), `retry-later` (a failure that says
   * nothing about WebSockets being blocked: getToken failed, or rate limited). Gives up after
   * `maxAttempts` consecutive failures, falls back to polling, or retries after a jittered delay.
   */
  private retryWebSocket(error: OrgcastClientError, kind: 'session-ended' | 'attempt-failed' | 'retry-later'): void {
    if (kind === 'session-ended') {
      this.failures = 0;
    } else {
      this.failures += 1;
      if (kind === 'attempt-failed') this.wsFailures += 1;
      if (this.failures >= this.settings.maxAttempts) {
        void this.finish('max_attempts', error);
        return;
      }
    }
    if (kind === 'attempt-failed' && this.settings.fetch !== undefined && this.wsFailures >= this.settings.pollingAfterFailures) {
      this.enterPolling();
      return;
    }
    const delayMs = backoffDelay(this.settings, this.failures, this.settings.random);
    this.sink.status({ type: 'reconnecting', transport: 'websocket', attempt: this.failures + 1, delayMs, error });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connectWebSocket();
    }, delayMs);
  }

  /** A session began on either transport: tell the application what it must refetch. */
  private startSession(organizations: readonly string[], recovered: Readonly<Record<string, boolean>> | undefined): void {
    const notices = resyncNotices({ previous: this.followed, organizations, recovered });
    this.followed = new Set(organizations);
    for (const organizationId of this.cursor.organizations()) {
      if (!this.followed.has(organizationId)) this.cursor.forget(organizationId);
    }
    this.restartUnrecovered(recovered);
    for (const notice of notices) this.sink.resync(notice);
  }

  /**
   * Organizations the gateway could not resume start where it says, not where this client was: the
   * old mark could be ahead of every new id (the history was lost and its clock is behind), and every
   * new event would be dropped as a duplicate.
   */
  private restartUnrecovered(recovered: Readonly<Record<string, boolean>> | undefined): void {
    for (const [organizationId, complete] of Object.entries(recovered ?? {})) {
      if (!complete) this.cursor.forget(organizationId);
    }
  }

  private deliver(event: OrganizationEvent): void {
    if (this.cursor.accept(event.organization_id, event.id)) this.sink.event(event);
  }

  /**
   * A live event on the WebSocket: its `prev` must be the last id seen of its organization. One that
   * is not means an event was lost on the way: it is not delivered, and the connection is replaced
   * by one that resumes from the last id really seen (the gateway replays what is missing, in order).
   */
  private deliverLive(slot: WsSlot, event: OrganizationEvent): void {
    const mark = this.cursor.markOf(event.organization_id);
    if (event.prev !== undefined && mark !== undefined && event.prev !== mark && event.id !== mark && isNewer(event.id, mark)) {
      if (!slot.gap) {
        slot.gap = true;
        this.sink.error(new ProtocolError(`an event of organization ${event.organization_id} before ${event.id} did not arrive: resuming from ${mark}`));
        void slot.connection?.close(CloseCode.Normal, 'missed an event: resuming');
      }
      return;
    }
    this.deliver(event);
  }

  /** The gateway says events of the organization are gone: the application refetches; the next event starts a new chain. */
  private onResync(organizationId: string, reason: string): void {
    this.cursor.forget(organizationId);
    this.sink.resync({ organizationId, reason: reason === 'history_lost' ? 'history_lost' : 'history_truncated' });
  }

  private onAccess(frame: OrganizationAccessFrame): void {
    const organizationId = frame.data.organization_id;
    if (frame.event_type === 'organization.access.revoked') {
      this.followed?.delete(organizationId);
      this.cursor.forget(organizationId);
    } else {
      this.followed?.add(organizationId);
      // Events after the grant's position follow: the chain of the organization starts there.
      if (frame.data.position !== undefined) this.cursor.advance(organizationId, frame.data.position);
    }
    this.sink.access(frame);
  }

  private async finish(reason: 'client' | 'terminal' | 'max_attempts', error: OrgcastClientError | undefined): Promise<void> {
    if (this.phase.kind === 'closed') return;
    if (this.phase.kind === 'polling') this.phase.abort.abort();
    this.phase = { kind: 'closed' };
    clearTimeout(this.retryTimer);
    clearTimeout(this.upgradeTimer);
    clearTimeout(this.refreshTimer);
    this.retryTimer = undefined;
    this.upgradeTimer = undefined;
    this.refreshTimer = undefined;
    const connection = this.ws?.connection;
    this.ws = undefined;
    this.sink.status(error === undefined ? { type: 'closed', reason } : { type: 'closed', reason, error });
    await connection?.close(CloseCode.Normal, reason === 'client' ? 'client closed' : reason);
  }
}

/** What to do after a WebSocket ended, by who ended it, the HTTP status of a refusal, or the close code. */
export function adviceFor(outcome: Pick<WsOutcome, 'endedBy' | 'httpStatus' | 'code'>): CloseAdvice {
  if (outcome.endedBy !== 'server') return 'reconnect';
  if (outcome.httpStatus === 401) return 'refresh-token';
  if (outcome.httpStatus === 403) return 'stop';
  if (outcome.httpStatus !== undefined) return 'reconnect';
  // The gateway never closes with 1000 (it means "the client closed"): a proxy or load balancer
  // did, and the client did not ask for it, so reconnect.
  if (outcome.code === CloseCode.Normal) return 'reconnect';
  return closeAdvice(outcome.code);
}

function asClientError(error: unknown): OrgcastClientError {
  return error instanceof OrgcastClientError ? error : new OrgcastClientError('unexpected failure', { cause: error });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** 16 characters of [0-9a-z]: the default stickiness key. */
function randomAffinity(random: () => number): string {
  let key = '';
  while (key.length < 16) key += Math.floor(random() * 36).toString(36);
  return key;
}
