import { describe, expect, it } from 'vitest';
import { CloseCode } from '../protocol/close-codes.js';
import { Session, type SessionLimits } from './session.js';
import type { SocketPort } from './socket-port.js';

class FakeSocket implements SocketPort {
  readonly sent: string[] = [];
  ended: { code: number; reason: string } | undefined;
  send(text: string): boolean {
    this.sent.push(text);
    return true;
  }
  ping(): void {}
  end(code: number, reason: string): void {
    this.ended = { code, reason };
  }
  subscribe(): void {}
  unsubscribe(): void {}
  bufferedAmount(): number {
    return 0;
  }
  errors(): string[] {
    return this.sent.map((s) => JSON.parse(s) as { event_type: string; data?: { code: string } }).filter((f) => f.event_type === 'error').map((f) => f.data!.code);
  }
}

const limits: SessionLimits = { clientMessagesPerSecond: 1, clientMessagesBurst: 3, clientRateLimitStrikes: 4, malformedFrameLimit: 3 };

function session(overrides: Partial<SessionLimits> = {}): { s: Session; socket: FakeSocket; observed: string[] } {
  const socket = new FakeSocket();
  const observed: string[] = [];
  const s = new Session('c1', 'u1', { organizations: [], issuedAtMs: undefined }, Date.now() + 60_000, socket, { ...limits, ...overrides }, {
    onClientMessage: (t) => observed.push(`msg:${t}`),
    onClientError: (c) => observed.push(`err:${c}`),
    onRefresh: (_session, token) => observed.push(`refresh:${token}`),
  }, 0);
  return { s, socket, observed };
}

describe('Session', () => {
  it('hands an auth.refresh token over, and answers one without a token with invalid_frame', () => {
    const { s, socket, observed } = session();
    s.onText('{"event_type":"auth.refresh","data":{"token":"jwt-2"}}', 1);
    expect(observed).toEqual(['msg:auth.refresh', 'refresh:jwt-2']);
    expect(s.refreshes).toBe(1);
    for (const bad of ['{"event_type":"auth.refresh"}', '{"event_type":"auth.refresh","data":{"token":""}}']) s.onText(bad, 2);
    expect(socket.errors()).toEqual(['invalid_frame', 'invalid_frame']);
    expect(s.refreshes).toBe(1);
  });

  it('answers ping with pong and records liveness', () => {
    const { s, socket } = session();
    s.onText('{"event_type":"ping"}', 500);
    expect(socket.sent).toEqual(['{"event_type":"pong"}']);
    expect(s.lastSeenMs).toBe(500);
  });

  it('sends error frames for malformed JSON, non-objects and unknown types, then closes with 4400', () => {
    const { s, socket } = session({ malformedFrameLimit: 3, clientMessagesBurst: 100 });
    s.onText('{nope', 1);
    s.onText('[1,2]', 2);
    s.onText('{"event_type":"subscribe"}', 3);
    expect(socket.errors()).toEqual(['malformed_json', 'invalid_frame', 'unknown_event_type']);
    expect(socket.ended).toBeUndefined();
    s.onText('42', 4);
    expect(socket.ended?.code).toBe(CloseCode.ProtocolViolation);
    expect(s.closeReason).toBe('protocol_violation');
  });

  it('rejects binary frames with an error frame', () => {
    const { s, socket } = session();
    s.onBinary();
    expect(socket.errors()).toEqual(['binary_not_supported']);
  });

  it('rate limits with error frames and closes with 4008 on sustained abuse', () => {
    const { s, socket } = session();
    for (let i = 0; i < 3; i += 1) s.onText('{"event_type":"ping"}', 0);
    expect(socket.errors()).toEqual([]);
    for (let i = 0; i < 3; i += 1) s.onText('{"event_type":"ping"}', 0);
    expect(socket.errors()).toEqual(['rate_limited', 'rate_limited', 'rate_limited']);
    expect(socket.ended).toBeUndefined();
    s.onText('{"event_type":"ping"}', 0);
    expect(socket.ended?.code).toBe(CloseCode.RateLimited);
  });

  it('protocol pings count as liveness and against the rate, silently, closing with 4008 on a flood', () => {
    const { s, socket } = session();
    s.onPing(700);
    expect(s.lastSeenMs).toBe(700);
    for (let i = 0; i < 5; i += 1) s.onPing(700);
    expect(socket.sent).toEqual([]);
    expect(socket.ended).toBeUndefined();
    s.onPing(700);
    expect(socket.ended?.code).toBe(CloseCode.RateLimited);
  });

  it('ignores frames and sends nothing once closing', () => {
    const { s, socket } = session();
    s.close(CloseCode.ServiceRestart, 'bye', 'shutdown');
    s.close(CloseCode.SlowConsumer, 'again', 'slow_consumer');
    s.onText('{"event_type":"ping"}', 0);
    s.send('x');
    expect(socket.sent).toEqual([]);
    expect(socket.ended?.code).toBe(CloseCode.ServiceRestart);
    expect(s.closeReason).toBe('shutdown');
  });
});
