import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { InboundMembershipChange } from '../consumer/event-source.js';
import type { CloseReason, GatewayMetrics } from '../metrics/metrics.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { ConnectionEstablishedFrame, OrganizationChangedFrame } from '../protocol/frames.js';
import { ConnectionRegistry } from '../registry/connection-registry.js';
import { formatResume } from '../protocol/resume.js';
import type { RoutedFrame } from '../consumer/cluster-source.js';
import type { CatchUp, FeedView } from './catch-up.js';
import { Session, type SessionLimits, type SessionObserver } from './session.js';
import { organizationTopic, type SocketPort } from './socket-port.js';

/** Interest in organizations' feeds: held while a connection receives an organization. */
export interface FeedInterest extends FeedView {
  acquire(organizationId: string): Promise<void>;
  release(organizationId: string): void;
  lastDelivered(organizationId: string): string;
  othersInterested(organizationId: string): number;
  advance(organizationId: string, upTo: string, frames: readonly RoutedFrame[]): void;
}

export interface ConnectionHooks {
  /** After the session was removed; `organizations` are the ones it held. */
  onClosed?(session: Session, organizations: readonly string[]): void;
}

export interface ConnectionManagerOptions extends SessionLimits {
  readonly podName: string;
  readonly maxConnections: number;
  readonly maxConnectionsPerUser: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly maxPayloadBytes: number;
}

/**
 * Owns the live sessions of this pod: registration, topic subscriptions, membership changes,
 * heartbeats and token expiry. No I/O of its own besides the sockets it is handed.
 */
export class ConnectionManager {
  /** One observer for every session: no per-connection closures. */
  private readonly observer: SessionObserver = {
    onClientMessage: (eventType) => this.metrics.clientMessages.inc({ event_type: eventType }),
    onClientError: (code) => this.metrics.clientErrors.inc({ code }),
  };
  private readonly registry = new ConnectionRegistry<Session>();

  constructor(
    private readonly options: ConnectionManagerOptions,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly feeds: FeedInterest,
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

  /**
   * Makes a freshly upgraded socket live, its organizations' feeds already acquired (one interest
   * each, owned by the session once it is registered), in this one synchronous step: `connection.established`,
   * the replayed history, the buffered frames newer than it, and the topic subscriptions. Nothing can
   * arrive in between, so the client sees no gap and no duplicate.
   */
  open(socket: SocketPort, principal: Principal, organizations: readonly string[], catchUp?: CatchUp): Session {
    const session = new Session(randomUUID(), principal.userId, principal.expiresAtMs, socket, this.options, this.observer, this.now());
    if (this.registry.countForUser(principal.userId) >= this.options.maxConnectionsPerUser) {
      this.register(session, principal.userId, organizations);
      session.close(CloseCode.TooManyConnections, 'too many connections for this user', 'user_limit');
      return session;
    }
    const established: ConnectionEstablishedFrame = {
      event_type: 'connection.established',
      data: {
        connection_id: session.id,
        user_id: principal.userId,
        organizations: [...organizations],
        ...(catchUp !== undefined && Object.keys(catchUp.recovered).length > 0 && { recovered: catchUp.recovered }),
        resume: formatResume(catchUp?.cursor ?? new Map()),
        heartbeat_interval_ms: this.options.heartbeatIntervalMs,
        heartbeat_timeout_ms: this.options.heartbeatTimeoutMs,
        max_payload_bytes: this.options.maxPayloadBytes,
        pod: this.options.podName,
        token_expires_at: new Date(principal.expiresAtMs).toISOString(),
      },
    };
    session.send(JSON.stringify(established));
    for (const organization of organizations) {
      const startAfter = catchUp?.startAfter.get(organization);
      if (startAfter !== undefined) {
        this.feeds.advance(organization, startAfter, catchUp!.fastForward.get(organization) ?? []);
        for (const frame of catchUp!.replay.get(organization) ?? []) session.send(frame);
        for (const live of this.feeds.framesAfter(organization, startAfter).frames) session.send(live.frame);
      }
      socket.subscribe(organizationTopic(organization));
    }
    // Last: an exception above leaves nothing registered (the caller undoes the preparations).
    this.register(session, principal.userId, organizations);
    return session;
  }

  private register(session: Session, userId: string, organizations: readonly string[]): void {
    this.registry.add(session, userId, organizations);
    this.metrics.connections.set(this.registry.size);
    this.metrics.connectionsAccepted.inc();
  }

  /** The socket is gone (either side closed it). Must be called exactly once per session. */
  closed(session: Session, code: number): void {
    const wasClosing = session.status === 'closing';
    session.status = 'closed';
    const organizations = this.registry.organizationsOf(session);
    this.registry.remove(session);
    this.metrics.connections.set(this.registry.size);
    for (const organization of organizations) this.feeds.release(organization);
    this.hooks.onClosed?.(session, organizations);
    const reason: CloseReason = session.closeReason ?? (code === CloseCode.MessageTooBig ? 'protocol_violation' : 'client');
    this.metrics.connectionsClosed.inc({ reason });
    this.logger.debug({ connection: session.id, user: session.userId, code, reason, serverInitiated: wasClosing }, 'connection closed');
  }

  /**
   * Applies a membership change to this user's live sessions on this pod. A removal takes effect at
   * once; an addition once the organization's feed is bound here.
   */
  applyMembership(change: InboundMembershipChange): number {
    const topic = organizationTopic(change.organizationId);
    const removed = change.eventType === 'organization.member.removed';
    const frame: OrganizationChangedFrame = {
      event_type: removed ? 'organization.access.revoked' : 'organization.access.granted',
      data: { organization_id: change.organizationId },
    };
    const text = JSON.stringify(frame);
    let affected = 0;
    for (const session of this.registry.connectionsOfUser(change.userId)) {
      if (session.status !== 'open') continue;
      if (removed) {
        if (!this.registry.revoke(session, change.organizationId)) continue;
        session.socket.unsubscribe(topic);
        this.feeds.release(change.organizationId);
        session.send(text);
      } else {
        if (!this.registry.grant(session, change.organizationId)) continue;
        // The interest taken here belongs to the session from now on: a close or a later removal
        // releases it, so the outcomes below release only what nobody else will.
        this.feeds.acquire(change.organizationId).then(
          () => {
            if (session.status === 'open' && this.registry.receives(session, change.organizationId)) {
              session.socket.subscribe(topic);
              session.send(text);
            }
          },
          (error: unknown) => {
            if (session.status === 'open' && this.registry.revoke(session, change.organizationId)) this.feeds.release(change.organizationId);
            this.logger.warn({ err: error, organization: change.organizationId }, 'could not bind a granted organization; the user gets it on reconnect');
          },
        );
      }
      affected += 1;
    }
    return affected;
  }

  /** Closes every session of a user (e.g. an operator's "disconnect user"). */
  disconnectUser(userId: string, code: number, message: string, reason: CloseReason): number {
    const sessions = [...this.registry.connectionsOfUser(userId)];
    for (const session of sessions) session.close(code, message, reason);
    return sessions.length;
  }

  /**
   * Periodic pass over all sessions: pings the quiet ones, closes the silent ones and the ones whose
   * token has expired. O(connections); run about once a second.
   */
  sweep(): void {
    const now = this.now();
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.options;
    for (const session of this.registry.all()) {
      if (session.status !== 'open') continue;
      if (now >= session.expiresAtMs) {
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
}
