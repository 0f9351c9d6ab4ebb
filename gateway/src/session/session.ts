import { CloseCode } from '../protocol/close-codes.js';
import { PONG_TEXT, type ErrorCode, type ErrorFrame } from '../protocol/frames.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { CloseReason } from '../metrics/metrics.js';
import type { MembershipTransition } from './membership-transition.js';
import type { OrganizationCatchUp } from './organization-catch-up.js';
import type { SocketPort } from './socket-port.js';

export interface SessionLimits {
  readonly clientMessagesPerSecond: number;
  readonly clientMessagesBurst: number;
  readonly clientRateLimitStrikes: number;
  readonly malformedFrameLimit: number;
}

export interface SessionObserver {
  onClientMessage(eventType: string): void;
  onClientError(code: ErrorCode): void;
  /** The client sent `auth.refresh` with a token (not yet verified). */
  onRefresh(session: Session, token: string): void;
}

export type SessionStatus = 'open' | 'closing' | 'closed';

/**
 * One WebSocket connection: identity, heartbeat bookkeeping, client-frame handling. State is kept
 * small (a few numbers and references) because there may be hundreds of thousands of sessions.
 */
export class Session {
  status: SessionStatus = 'open';
  /** Why the server closed the session; undefined when the client closed it. */
  closeReason: CloseReason | undefined;
  lastSeenMs: number;
  /** When the heartbeat last pinged this session. */
  pingedAtMs = 0;
  /** How many `auth.refresh` frames were taken up: only the newest one's outcome applies. */
  refreshes = 0;
  private readonly bucket: TokenBucket;
  private strikes = 0;
  private malformed = 0;

  constructor(
    readonly id: string,
    readonly userId: string,
    /** The token's own organization claim and issue time: what the memberships are recomputed from (a refresh replaces them). */
    public claims: { readonly organizations: readonly string[]; readonly issuedAtMs: number | undefined },
    /** The token's `exp` (a refresh moves it). */
    public expiresAtMs: number,
    readonly socket: SocketPort,
    private readonly limits: SessionLimits,
    private readonly observer: SessionObserver,
    nowMs: number,
  ) {
    this.lastSeenMs = nowMs;
    this.bucket = new TokenBucket(limits.clientMessagesPerSecond, limits.clientMessagesBurst);
  }

  /** Any frame or pong from the client proves it is alive. */
  touch(nowMs: number): void {
    this.lastSeenMs = nowMs;
  }

  /**
   * Organizations this connection is still catching up on (see organization-catch-up.ts); undefined
   * once it is live in all of them, so a live connection holds nothing for it.
   */
  catchUps: Map<string, OrganizationCatchUp> | undefined;

  /** Membership changes still taking effect, per organization; undefined when there are none. */
  transitions: Map<string, MembershipTransition> | undefined;

  /**
   * Sends a text frame. A frame the socket refuses (its buffer is over the limit) closes the
   * connection at once as a slow consumer: nothing after a lost frame may reach it, so the client
   * resumes from what it really got. False when the frame was not sent.
   */
  send(text: string): boolean {
    if (this.status !== 'open') return false;
    if (this.socket.send(text)) return true;
    this.close(CloseCode.SlowConsumer, 'slow consumer: outgoing buffer full', 'slow_consumer');
    return false;
  }

  /** The socket's buffer drained: catching up goes on. */
  onDrain(): void {
    if (this.status !== 'open' || this.catchUps === undefined) return;
    for (const catchUp of [...this.catchUps.values()]) catchUp.pump();
  }

  /** Server-initiated close; idempotent. */
  close(code: number, message: string, reason: CloseReason): void {
    if (this.status !== 'open') return;
    this.status = 'closing';
    this.closeReason = reason;
    this.socket.end(code, message);
  }

  onText(text: string, nowMs: number): void {
    if (this.status !== 'open') return;
    this.touch(nowMs);
    if (!this.withinRate(true)) return;
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.malformedFrame('malformed_json', 'frame is not valid JSON');
      return;
    }
    if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
      this.malformedFrame('invalid_frame', 'frame must be a JSON object with an event_type');
      return;
    }
    const eventType = (frame as { event_type?: unknown }).event_type;
    if (eventType === 'ping') {
      this.observer.onClientMessage('ping');
      this.send(PONG_TEXT);
      return;
    }
    if (eventType === 'auth.refresh') {
      const data = (frame as { data?: unknown }).data;
      const token = data !== null && typeof data === 'object' ? (data as { token?: unknown }).token : undefined;
      if (typeof token !== 'string' || token === '') {
        this.malformedFrame('invalid_frame', 'auth.refresh needs data.token: the new JWT');
        return;
      }
      this.observer.onClientMessage('auth.refresh');
      this.refreshes += 1;
      this.observer.onRefresh(this, token);
      return;
    }
    if (typeof eventType !== 'string') {
      this.malformedFrame('invalid_frame', 'frame must be a JSON object with an event_type');
      return;
    }
    this.observer.onClientMessage('unknown');
    this.error('unknown_event_type', 'unknown event_type; clients may send: ping, auth.refresh');
  }

  /**
   * A protocol-level ping from the client (uWS answers it with a pong itself): it proves the client
   * alive, and counts against the message rate like a frame, without an error frame when over it.
   */
  onPing(nowMs: number): void {
    if (this.status !== 'open') return;
    this.touch(nowMs);
    this.withinRate(false);
  }

  /** Takes one message from the rate budget; over it, strikes (an error frame when `tell`), then closes. */
  private withinRate(tell: boolean): boolean {
    if (this.bucket.tryTake()) {
      this.strikes = 0;
      return true;
    }
    this.strikes += 1;
    if (this.strikes >= this.limits.clientRateLimitStrikes) this.close(CloseCode.RateLimited, 'message rate limit exceeded', 'rate_limited');
    else if (tell) this.error('rate_limited', 'too many messages; slow down');
    return false;
  }

  onBinary(): void {
    if (this.status !== 'open') return;
    this.malformedFrame('binary_not_supported', 'binary frames are not supported; send JSON text');
  }

  private malformedFrame(code: ErrorCode, message: string): void {
    this.malformed += 1;
    if (this.malformed >= this.limits.malformedFrameLimit) {
      this.observer.onClientError(code);
      this.close(CloseCode.ProtocolViolation, 'too many malformed frames', 'protocol_violation');
      return;
    }
    this.error(code, message);
  }

  /** Sends an error frame (counted); the connection stays open. */
  error(code: ErrorCode, message: string): void {
    this.observer.onClientError(code);
    const frame: ErrorFrame = { event_type: 'error', data: { code, message } };
    this.send(JSON.stringify(frame));
  }
}
