import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { InboundMembershipChange } from '../events/inbound-event.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import { compareEventIds } from '../history/event-id.js';
import type { HistoryStore } from '../history/history-store.js';
import type { MembershipStore } from '../membership/membership-store.js';
import type { CloseReason, GatewayMetrics } from '../metrics/metrics.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { AuthRefreshedFrame, ConnectionEstablishedFrame, OrganizationChangedFrame } from '../protocol/frames.js';
import { formatResume } from '../protocol/resume.js';
import { ConnectionRegistry } from '../registry/connection-registry.js';
import type { MembershipTransition } from './membership-transition.js';
import { OrganizationCatchUp, type CatchUpDeps, type CatchUpOutcome } from './organization-catch-up.js';
import { Session, type SessionLimits, type SessionObserver } from './session.js';
import { organizationTopic, type SocketPort } from './socket-port.js';
import { refreshInMs, type TokenRefresher } from './token-refresh.js';

/** Interest in organizations' feeds: held while a connection receives (or catches up on) one. */
export interface FeedInterest {
  acquire(organizationId: string): Promise<void>;
  release(organizationId: string): void;
}

/** Where a connection starts in one organization. */
export interface OrganizationStart {
  /** The id the connection has: frames after it follow, replayed ones first. */
  readonly position: string;
  /** Frames read from history after `position`, oldest first. */
  readonly replay: readonly RoutedFrame[];
}

/** What the connect flow prepared for `open`. */
export interface OpenPlan {
  /** Per resumed organization: did the history reach back to the client's id? */
  readonly recovered: Readonly<Record<string, boolean>>;
  readonly starts: ReadonlyMap<string, OrganizationStart>;
  /** `changeSequence()` when admission read the memberships: later changes are applied at open. */
  readonly changesSeen: number;
}

export interface ConnectionHooks {
  /** After the session was removed. */
  onClosed?(session: Session): void;
}

export interface ConnectionManagerOptions extends SessionLimits {
  readonly podName: string;
  readonly maxConnections: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly maxPayloadBytes: number;
  /** Tokens are accepted this long past `exp` (clock tolerance): the sweep closes them then, not earlier. */
  readonly tokenGraceMs: number;
}

interface RecentChange {
  readonly sequence: number;
  readonly change: InboundMembershipChange;
  readonly position: string;
  readonly atMs: number;
}

/** How long membership changes are kept for connections that were between admission and open. */
const RECENT_CHANGES_MS = 120_000;

/**
 * Owns the live sessions of this pod: registration, catching up and topic subscriptions, membership
 * changes (applied at their position in the organization's sequence), heartbeats and token expiry.
 * No I/O of its own besides the sockets it is handed and the history its catch-ups read.
 */
export class ConnectionManager {
  /** One observer for every session: no per-connection closures. */
  private readonly observer: SessionObserver = {
    onClientMessage: (eventType) => this.metrics.clientMessages.inc({ event_type: eventType }),
    onClientError: (code) => this.metrics.clientErrors.inc({ code }),
    onRefresh: (session, token) => this.refresh(session, token),
  };
  private readonly registry = new ConnectionRegistry<Session>();
  private changeCount = 0;
  private recentChanges: RecentChange[] = [];

  constructor(
    private readonly options: ConnectionManagerOptions,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly feeds: FeedInterest,
    private readonly catchUpDeps: CatchUpDeps,
    private readonly reconciler: {
      readonly membership: Pick<MembershipStore, 'effectiveOrganizations'>;
      readonly history: Pick<HistoryStore, 'lastId'>;
      /** Checks `auth.refresh` tokens; without it, refreshes are refused (the client reconnects at expiry). */
      readonly refresher?: TokenRefresher;
    },
    private readonly hooks: ConnectionHooks = {},
    private readonly now: () => number = Date.now,
  ) {
    metrics.maxConnections.set(options.maxConnections);
  }

  get size(): number {
    return this.registry.size;
  }

  connectionsOfUser(userId: string): number {
    return this.registry.countForUser(userId);
  }

  /** This pod's connections per user. */
  userCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const session of this.registry.all()) counts.set(session.userId, (counts.get(session.userId) ?? 0) + 1);
    return counts;
  }

  /** How many membership changes this pod applied so far (see OpenPlan.changesSeen). */
  changeSequence(): number {
    return this.changeCount;
  }

  /**
   * Makes a freshly upgraded socket live, its organizations' feeds already acquired (one interest
   * each, owned by the session from now on): `connection.established`, then each organization's
   * catch-up (replay under backpressure, then live), then the membership changes that came while the
   * connection was being prepared. An exception after registration closes the socket with 1011.
   */
  open(socket: SocketPort, principal: Principal, organizations: readonly string[], plan: OpenPlan): Session {
    const session = new Session(randomUUID(), principal.userId, principal, principal.expiresAtMs, socket, this.options, this.observer, this.now());
    const cursor = new Map<string, string>();
    for (const organization of organizations) {
      const start = plan.starts.get(organization);
      if (start !== undefined) cursor.set(organization, start.position);
    }
    const established: ConnectionEstablishedFrame = {
      event_type: 'connection.established',
      data: {
        connection_id: session.id,
        user_id: principal.userId,
        organizations: [...organizations],
        ...(Object.keys(plan.recovered).length > 0 && { recovered: plan.recovered }),
        resume: formatResume(cursor),
        heartbeat_interval_ms: this.options.heartbeatIntervalMs,
        heartbeat_timeout_ms: this.options.heartbeatTimeoutMs,
        max_payload_bytes: this.options.maxPayloadBytes,
        pod: this.options.podName,
        token_expires_at: new Date(principal.expiresAtMs).toISOString(),
        refresh_in_ms: refreshInMs(principal.expiresAtMs, this.now()),
      },
    };
    this.registry.add(session, principal.userId, organizations);
    this.metrics.connections.set(this.registry.size);
    this.metrics.connectionsAccepted.inc();
    try {
      session.send(JSON.stringify(established));
      for (const organization of organizations) {
        const start = plan.starts.get(organization);
        if (start !== undefined) this.catchUp(session, organization, start.position, start.replay).pump();
      }
      for (const recent of this.recentChanges) {
        if (recent.sequence > plan.changesSeen && recent.change.userId === principal.userId) this.applyTo(session, recent.change, recent.position);
      }
    } catch (error) {
      this.metrics.handlerErrors.inc({ handler: 'open' });
      this.logger.error({ err: error, connection: session.id }, 'opening a connection failed; closing it');
      session.close(CloseCode.InternalError, 'internal error', 'internal_error');
    }
    return session;
  }

  /** The socket is gone (either side closed it). Must be called exactly once per session. */
  closed(session: Session, code: number): void {
    const wasClosing = session.status === 'closing';
    session.status = 'closed';
    for (const catchUp of session.catchUps?.values() ?? []) catchUp.cancel();
    session.catchUps = undefined;
    session.transitions = undefined;
    const organizations = this.registry.organizationsOf(session);
    this.registry.remove(session);
    this.metrics.connections.set(this.registry.size);
    for (const organization of organizations) this.feeds.release(organization);
    this.hooks.onClosed?.(session);
    const reason: CloseReason = session.closeReason ?? (code === CloseCode.MessageTooBig ? 'protocol_violation' : 'client');
    this.metrics.connectionsClosed.inc({ reason });
    this.logger.debug({ connection: session.id, user: session.userId, code, reason, serverInitiated: wasClosing }, 'connection closed');
  }

  /**
   * Applies a membership change to this user's live sessions on this pod, at its position in the
   * organization's sequence: a member added receives every event after `position` (caught up from
   * history, then live); a member removed receives every event up to it, then nothing more.
   */
  applyMembership(change: InboundMembershipChange, position: string): number {
    this.changeCount += 1;
    const nowMs = this.now();
    this.recentChanges.push({ sequence: this.changeCount, change, position, atMs: nowMs });
    while (this.recentChanges.length > 0 && nowMs - this.recentChanges[0]!.atMs > RECENT_CHANGES_MS) this.recentChanges.shift();
    let affected = 0;
    for (const session of this.registry.connectionsOfUser(change.userId)) {
      if (session.status === 'open' && this.applyTo(session, change, position)) affected += 1;
    }
    return affected;
  }

  /**
   * Recomputes every session's organizations from its token and the membership store (after
   * membership commands may have been missed): organizations no longer granted are revoked at once,
   * new ones granted from their current position, unless `grants` is false (the store lost its data:
   * a grant computed from it could restore what a lost revocation took away). Returns how many
   * changes it applied.
   */
  async reconcile(grants = true): Promise<number> {
    const sessions = [...this.registry.all()].filter((session) => session.status === 'open');
    let changed = 0;
    for (let i = 0; i < sessions.length; i += 100) {
      await Promise.all(sessions.slice(i, i + 100).map(async (session) => {
        const effective = new Set(await this.reconciler.membership.effectiveOrganizations(session.userId, session.claims.organizations, session.claims.issuedAtMs));
        if (session.status !== 'open') return;
        const current = this.registry.organizationsOf(session);
        for (const organization of current) {
          if (effective.has(organization)) continue;
          this.revoke(session, organization);
          changed += 1;
        }
        for (const organization of grants ? effective : []) {
          if (current.includes(organization)) continue;
          const position = await this.reconciler.history.lastId(organization);
          if (session.status !== 'open') return;
          if (this.applyTo(session, { eventType: 'organization.member.added', organizationId: organization, userId: session.userId, atMs: this.now() }, position)) changed += 1;
        }
      }));
    }
    return changed;
  }

  /**
   * `auth.refresh`: the new token is checked with the connect rules; when it passes, the connection
   * takes its expiry and claims, organizations it no longer grants are revoked at once, new ones are
   * granted from their current position (gap-free, like a membership grant), and `auth.refreshed`
   * answers. When it fails, an error frame (`refresh_failed`) says why and the connection goes on
   * with its current token until that expires. Only the newest refresh of a connection applies.
   */
  private refresh(session: Session, token: string): void {
    const refresher = this.reconciler.refresher;
    if (refresher === undefined) {
      session.error('refresh_failed', 'this gateway does not refresh tokens in band; reconnect with a fresh token');
      return;
    }
    const attempt = session.refreshes;
    refresher(session.userId, token).then(async (check) => {
      if (session.status !== 'open' || session.refreshes !== attempt) return;
      if (!check.ok) {
        this.metrics.tokenRefreshes.inc({ result: 'refused' });
        session.error('refresh_failed', check.message);
        return;
      }
      const { principal, organizations } = check;
      session.claims = { organizations: principal.organizations, issuedAtMs: principal.issuedAtMs };
      session.expiresAtMs = principal.expiresAtMs;
      const current = this.registry.organizationsOf(session);
      const granted = new Set(organizations);
      for (const organization of current) if (!granted.has(organization)) this.revoke(session, organization);
      const refreshed: AuthRefreshedFrame = {
        event_type: 'auth.refreshed',
        data: { token_expires_at: new Date(principal.expiresAtMs).toISOString(), refresh_in_ms: refreshInMs(principal.expiresAtMs, this.now()), organizations: [...organizations] },
      };
      this.metrics.tokenRefreshes.inc({ result: 'refreshed' });
      if (!session.send(JSON.stringify(refreshed))) return;
      for (const organization of organizations) {
        if (current.includes(organization)) continue;
        const position = await this.reconciler.history.lastId(organization);
        if (session.status !== 'open' || session.refreshes !== attempt) return;
        this.applyTo(session, { eventType: 'organization.member.added', organizationId: organization, userId: session.userId, atMs: this.now() }, position);
      }
    }).catch((error: unknown) => {
      // A history read for a grant failed, or a bug: the connection resumes rather than miss a grant.
      this.metrics.handlerErrors.inc({ handler: 'refresh' });
      this.logger.error({ err: error, connection: session.id }, 'applying a token refresh failed; closing the connection');
      if (session.status === 'open') session.close(CloseCode.TryAgainLater, 'could not apply the token refresh; reconnect', 'internal_error');
    });
  }

  /** Closes every session of a user (e.g. an operator's "disconnect user"). */
  disconnectUser(userId: string, code: number, message: string, reason: CloseReason): number {
    const sessions = [...this.registry.connectionsOfUser(userId)];
    for (const session of sessions) session.close(code, message, reason);
    return sessions.length;
  }

  /**
   * Periodic pass over all sessions: pings the quiet ones, closes the silent ones and the ones whose
   * token has expired (past the clock tolerance admission grants too). O(connections); run about once a second.
   */
  sweep(): void {
    const now = this.now();
    const { heartbeatIntervalMs, heartbeatTimeoutMs, tokenGraceMs } = this.options;
    for (const session of this.registry.all()) {
      if (session.status !== 'open') continue;
      if (now >= session.expiresAtMs + tokenGraceMs) {
        session.close(CloseCode.TokenExpired, 'token expired; reconnect with a fresh token', 'token_expired');
        continue;
      }
      const quietFor = now - session.lastSeenMs;
      if (quietFor >= heartbeatTimeoutMs) {
        session.close(CloseCode.HeartbeatTimeout, 'heartbeat timeout', 'heartbeat_timeout');
      } else if (quietFor >= heartbeatIntervalMs && now - session.pingedAtMs >= heartbeatIntervalMs) {
        session.pingedAtMs = now;
        session.socket.ping();
      }
    }
  }

  /** All open sessions, in a random order (for jittered draining). */
  openSessionsShuffled(): Session[] {
    const sessions = [...this.registry.all()].filter((s) => s.status === 'open');
    for (let i = sessions.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      const tmp = sessions[i]!;
      sessions[i] = sessions[j]!;
      sessions[j] = tmp;
    }
    return sessions;
  }

  /**
   * One session's part of a membership change; true when it changed something (or will, after the
   * change before it in the same organization has taken effect).
   */
  private applyTo(session: Session, change: InboundMembershipChange, position: string): boolean {
    const organization = change.organizationId;
    const pending = session.transitions?.get(organization);
    if (pending !== undefined) {
      // A member once what waits has taken effect? Then a grant changes nothing, as a removal would not otherwise.
      const last = pending.queue.at(-1);
      const member = last === undefined ? pending.kind === 'binding' : last.change.eventType === 'organization.member.added';
      if (member === (change.eventType === 'organization.member.added')) return false;
      pending.queue.push({ change, position });
      return true;
    }
    if (change.eventType === 'organization.member.removed') {
      if (!this.registry.receives(session, organization)) return false;
      const transition = this.begin(session, organization, 'leaving');
      const catchUp = session.catchUps?.get(organization);
      const feed = this.catchUpDeps.feed(organization);
      // Without a catch-up the connection is live: it has what the feed delivered.
      const reached = catchUp?.position ?? feed?.lastId;
      if (reached !== undefined && compareEventIds(reached, position) > 0) {
        // The removal came by the command stream after the routed path had moved on: the member
        // got events past its position. Not silent: counted and logged (docs/architecture.md).
        this.metrics.lateRemovals.inc();
        this.logger.warn({ connection: session.id, user: session.userId, organization, position, reached }, 'a removal was heard after events past its position reached the member');
      }
      if (catchUp !== undefined) {
        catchUp.stopAfter(position);
        return true;
      }
      if (feed === undefined) this.revoke(session, organization);
      else {
        feed.whenDelivered(position, () => {
          if (session.transitions?.get(organization) === transition) this.revoke(session, organization);
        });
      }
      return true;
    }
    if (!this.registry.grant(session, organization)) return false;
    const transition = this.begin(session, organization, 'binding');
    // The interest taken here belongs to the session from now on: a close or a later removal releases it.
    this.feeds.acquire(organization).then(
      () => {
        // Revoked meanwhile (a reconcile), or closed: this grant is over.
        if (session.status !== 'open' || session.transitions?.get(organization) !== transition) return;
        const granted: OrganizationChangedFrame = { event_type: 'organization.access.granted', data: { organization_id: organization, position } };
        if (!session.send(JSON.stringify(granted))) return;
        // Changes that came while binding apply to the catch-up before it sends anything (a removal
        // stops it at its position).
        const catchUp = this.catchUp(session, organization, position, []);
        this.settle(session, organization);
        catchUp.pump();
      },
      (error: unknown) => {
        this.logger.warn({ err: error, organization }, 'could not bind a granted organization; the user gets it on reconnect');
        if (session.status !== 'open' || session.transitions?.get(organization) !== transition) return;
        if (this.registry.revoke(session, organization)) this.feeds.release(organization);
        this.settle(session, organization);
      },
    ).catch((error: unknown) => {
      // A bug while taking the grant up: this connection closes (it resumes), the process stays up.
      this.metrics.handlerErrors.inc({ handler: 'membership' });
      this.logger.error({ err: error, connection: session.id, organization }, 'applying a grant failed; closing the connection');
      if (session.status === 'open') session.close(CloseCode.InternalError, 'internal error', 'internal_error');
    });
    return true;
  }

  private begin(session: Session, organization: string, kind: MembershipTransition['kind']): MembershipTransition {
    const transition: MembershipTransition = { kind, queue: [] };
    (session.transitions ??= new Map()).set(organization, transition);
    return transition;
  }

  /** The organization's transition has taken effect: applies the changes that waited for it, in order. */
  private settle(session: Session, organization: string): void {
    const done = session.transitions?.get(organization);
    if (done === undefined) return;
    session.transitions!.delete(organization);
    if (session.transitions!.size === 0) session.transitions = undefined;
    for (let i = 0; i < done.queue.length; i += 1) {
      if (session.status !== 'open') return;
      const { change, position } = done.queue[i]!;
      this.applyTo(session, change, position);
      const next = session.transitions?.get(organization);
      if (next !== undefined) {
        // That change takes effect later: the rest waits for it.
        next.queue.push(...done.queue.slice(i + 1));
        return;
      }
    }
  }

  private revoke(session: Session, organization: string): void {
    if (session.status !== 'open' || !this.registry.revoke(session, organization)) return;
    session.catchUps?.get(organization)?.cancel();
    session.catchUps?.delete(organization);
    if (session.catchUps?.size === 0) session.catchUps = undefined;
    session.socket.unsubscribe(organizationTopic(organization));
    this.feeds.release(organization);
    const revoked: OrganizationChangedFrame = { event_type: 'organization.access.revoked', data: { organization_id: organization } };
    session.send(JSON.stringify(revoked));
    this.settle(session, organization);
  }

  /** A catch-up for the session, registered but not started: the caller pumps it. */
  private catchUp(session: Session, organization: string, position: string, replay: readonly RoutedFrame[]): OrganizationCatchUp {
    const finished = (outcome: CatchUpOutcome): void => {
      if (session.catchUps?.get(organization) === catchUp) session.catchUps.delete(organization);
      if (session.catchUps?.size === 0) session.catchUps = undefined;
      this.metrics.catchUps.inc({ outcome });
      if (outcome === 'stopped') this.revoke(session, organization);
      else if (outcome === 'failed' && session.status === 'open') {
        // A history read failed for good (or the feed went): the client resumes from what it got.
        session.close(CloseCode.TryAgainLater, 'could not catch up; reconnect', 'internal_error');
      }
    };
    const catchUp = new OrganizationCatchUp(organization, position, replay, {
      // The socket is only valid while the session is open (uWS throws on a closed one).
      send: (text) => session.send(text),
      bufferedAmount: () => (session.status === 'open' ? session.socket.bufferedAmount() : 0),
      subscribe: (org) => {
        if (session.status === 'open') session.socket.subscribe(organizationTopic(org));
      },
    }, this.catchUpDeps, finished);
    (session.catchUps ??= new Map()).set(organization, catchUp);
    return catchUp;
  }
}
