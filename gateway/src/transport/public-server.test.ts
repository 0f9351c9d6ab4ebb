import { pino } from 'pino';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics/metrics.js';
import { ConnectionManager, type FeedInterest } from '../session/connection-manager.js';
import { createHandlerFaults } from './handler-faults.js';
import type { HttpRoute } from '../http/http-exchange.js';
import type { ConnectDecision } from '../session/connect-decision.js';
import { createPublicServer, type PublicServer } from './public-server.js';

const feeds: FeedInterest = {
  acquire: async () => undefined,
  release: () => undefined,
};

const managerOptions = {
  podName: 'p', maxConnections: 100, tokenGraceMs: 0, heartbeatIntervalMs: 25_000, heartbeatTimeoutMs: 60_000, maxPayloadBytes: 4096,
  clientMessagesPerSecond: 100, clientMessagesBurst: 100, clientRateLimitStrikes: 10, malformedFrameLimit: 10,
};

/** An exception in any handler is contained to its socket or request: the server goes on serving. */
describe('public server: unexpected exceptions', () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  async function serve(connect: () => Promise<ConnectDecision>, routes: HttpRoute[] = []): Promise<{ server: PublicServer; port: number; metrics: ReturnType<typeof createMetrics> }> {
    const logger = pino({ level: 'silent' });
    const metrics = createMetrics({ collectDefaults: false });
    const manager = new ConnectionManager(managerOptions, metrics, logger, feeds, {
      history: { readAfter: async () => ({ entries: [], complete: true, more: false }) },
      feed: () => undefined,
      subscribers: () => 0,
      pageSize: 100,
      budgetBytes: 1 << 19,
      retryDelayMs: () => undefined,
      fault: () => undefined,
    }, { membership: { effectiveOrganizations: async (_user, claimed) => [...claimed] }, history: { lastId: async () => '0-0' } });
    const server = createPublicServer({
      host: '127.0.0.1', port: 0, maxPayloadBytes: 4096, maxBackpressureBytes: 1 << 20, heartbeatTimeoutMs: 60_000,
      logger, faults: createHandlerFaults(logger, metrics),
    });
    server.serve({ connect, manager, routes });
    const port = await server.listen();
    stop = () => server.stopListening();
    return { server, port, metrics };
  }

  function outcome(url: string): Promise<{ status?: number; close?: number }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
      ws.on('close', (code) => resolve({ close: code }));
      ws.on('error', () => undefined);
    });
  }

  it('a throwing open closes that socket with 1011, undoes its preparations, and the next one still connects', async () => {
    let cancels = 0;
    let throwOnce = true;
    const { port, metrics } = await serve(async () => ({
      ok: true,
      open: (socket) => {
        if (throwOnce) {
          throwOnce = false;
          throw new RangeError('boom');
        }
        socket.end(1000, 'bye');
        return undefined as never;
      },
      cancel: () => {
        cancels += 1;
      },
    }));
    expect(await outcome(`ws://127.0.0.1:${port}/api/ws`)).toEqual({ close: 1011 });
    expect(cancels).toBe(1);
    expect(await outcome(`ws://127.0.0.1:${port}/api/ws`)).toEqual({ close: 1000 });
    expect(await metrics.registry.getSingleMetricAsString('orgcast_handler_errors_total')).toMatch(/handler="open"} 1/);
  });

  it('a connect flow that rejects gets a JSON 500', async () => {
    const { port } = await serve(() => Promise.reject(new Error('boom')));
    expect(await outcome(`ws://127.0.0.1:${port}/api/ws`)).toEqual({ status: 500 });
  });

  it('a route that throws answers a JSON 500, later routes still answer', async () => {
    const { port, metrics } = await serve(async () => ({ ok: false, status: 401, error: 'unauthorized', message: 'no' }), [
      { method: 'get', pattern: '/boom', handle: () => { throw new Error('boom'); } },
    ]);
    const res = await fetch(`http://127.0.0.1:${port}/boom`);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: 'internal' });
    expect((await fetch(`http://127.0.0.1:${port}/nothing`)).status).toBe(404);
    expect(await metrics.registry.getSingleMetricAsString('orgcast_handler_errors_total')).toMatch(/handler="http"} 1/);
  });
});
