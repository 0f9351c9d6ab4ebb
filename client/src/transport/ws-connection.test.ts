import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocketServer } from '../testing/fake-websocket.js';
import { WsConnection, type WsOutcome } from './ws-connection.js';

describe('WsConnection', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function open(server: FakeWebSocketServer) {
    const outcomes: WsOutcome[] = [];
    const established: string[] = [];
    const connection = new WsConnection({ url: 'ws://gw/api/ws', WebSocket: server.WebSocket, connectTimeoutMs: 5_000, pongTimeoutMs: 1_000 }, {
      established: (data) => established.push(data.connection_id),
      frame: () => undefined,
      protocolError: () => undefined,
      ended: (outcome) => outcomes.push(outcome),
    });
    return { connection, outcomes, established };
  }

  it('reports a dropped connection once, with what it knew', () => {
    const server = new FakeWebSocketServer();
    const { outcomes } = open(server);
    server.last.establish(['acme']);
    server.last.closed(1012, 'service restart');
    server.last.closed(1006);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ opened: true, established: true, code: 1012, endedBy: 'server', httpStatus: undefined, error: { name: 'ConnectionClosedError', code: 1012, reason: 'service restart' } });
  });

  it('reads the HTTP status of a refused upgrade from ws\'s error message', () => {
    const server = new FakeWebSocketServer();
    const { outcomes } = open(server);
    server.last.refuse(429);
    expect(outcomes[0]).toMatchObject({ opened: false, established: false, code: 1006, httpStatus: 429, error: { name: 'ConnectError', httpStatus: 429 } });
  });

  it('treats a task event before connection.established as a protocol failure', () => {
    const server = new FakeWebSocketServer();
    const { outcomes } = open(server);
    server.last.open();
    server.last.event('acme', '1-0');
    expect(outcomes[0]).toMatchObject({ endedBy: 'protocol', established: false, error: { name: 'ProtocolError' } });
    expect(server.last.clientClose?.code).toBe(1000);
  });

  it('reports a WebSocket constructor that throws as a failed attempt', async () => {
    const outcomes: WsOutcome[] = [];
    const Throwing = class {
      constructor() {
        throw new SyntaxError('bad url');
      }
    } as never;
    const connection = new WsConnection({ url: 'nope', WebSocket: Throwing, connectTimeoutMs: 5_000, pongTimeoutMs: 1_000 }, {
      established: () => undefined, frame: () => undefined, protocolError: () => undefined, ended: (o) => outcomes.push(o),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(outcomes[0]).toMatchObject({ opened: false, error: { name: 'ConnectError', cause: { name: 'SyntaxError' } } });
    await connection.close();
  });

  it('close() resolves when the socket has closed, or after the grace period', async () => {
    const server = new FakeWebSocketServer();
    const { connection, outcomes } = open(server);
    server.last.establish(['acme']);
    await connection.close();
    expect(server.last.readyState).toBe(3);
    expect(outcomes[0]).toMatchObject({ endedBy: 'closed' });

    const stuck = open(server);
    server.last.establish(['acme']);
    server.last.close = () => undefined; // a peer that never completes the close
    const closing = stuck.connection.close(1000, '', 500);
    await vi.advanceTimersByTimeAsync(500);
    await closing;
  });
});
