import * as uws from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ReadinessReport } from '../health/readiness.js';
import type { HandlerFaults } from './handler-faults.js';
import { createBearerCheck } from './bearer-credential.js';
import { listenExclusive } from './listen.js';
import { DeferredResponse, replyError, replyJson } from './http-reply.js';

export interface ManagementServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly readiness: () => Promise<ReadinessReport>;
  readonly logger: Logger;
  readonly faults: HandlerFaults;
  /**
   * Operator command: close every connection of a user on every pod (4403, no automatic reconnect).
   * `POST /admin/…` exists only when `adminToken` is set, and requires it as a bearer credential.
   */
  readonly disconnectUser: (userId: string, reason: string) => Promise<void>;
  readonly adminToken: string | undefined;
}

export interface ManagementServer {
  listen(): Promise<number>;
  close(): void;
}

/** The management port: liveness, readiness, Prometheus metrics. Never exposed through the ingress. */
export function createManagementServer(options: ManagementServerOptions): ManagementServer {
  const app: TemplatedApp = uws.App();
  const guard = (handler: (res: HttpResponse, req: HttpRequest) => void) => (res: HttpResponse, req: HttpRequest): void => {
    options.faults.run('http', () => handler(res, req), () => DeferredResponse.of(res).error(500, 'internal', 'internal error'));
  };
  let listenSocket: us_listen_socket | undefined;

  // Liveness is cheap and independent of dependencies: the event loop answers, so the process lives.
  app.get('/healthz', guard((res) => replyJson(res, 200, { status: 'ok' })));

  app.get('/readyz', guard((res) => {
    const deferred = new DeferredResponse(res);
    options.readiness().then(
      (report) => deferred.json(report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not_ready', checks: report.checks }),
      (error: unknown) => {
        options.logger.error({ err: error }, 'readiness evaluation failed');
        deferred.json(503, { status: 'not_ready', checks: {} });
      },
    );
  }));

  app.get('/metrics', guard((res) => {
    const deferred = new DeferredResponse(res);
    options.registry.metrics().then(
      (text) => deferred.write((r) => {
        r.writeStatus('200 OK');
        r.writeHeader('content-type', options.registry.contentType);
        r.end(text);
      }),
      (error: unknown) => {
        options.logger.error({ err: error }, 'metrics collection failed');
        deferred.error(500, 'internal', 'metrics collection failed');
      },
    );
  }));

  const adminAllowed = options.adminToken === undefined ? undefined : createBearerCheck(options.adminToken);
  if (adminAllowed !== undefined) app.post('/admin/users/:user/disconnect', guard((res, req) => {
    const raw = req.getParameter(0) ?? '';
    const authorization = req.getHeader('authorization');
    const deferred = new DeferredResponse(res);
    if (!adminAllowed(authorization)) {
      options.logger.warn('admin request refused: missing or wrong ADMIN_TOKEN bearer credential');
      deferred.error(401, 'unauthorized', 'send Authorization: Bearer <ADMIN_TOKEN>', { 'www-authenticate': 'Bearer' });
      return;
    }
    let userId = '';
    try {
      userId = decodeURIComponent(raw);
    } catch (error) {
      options.logger.debug({ err: error }, 'bad percent-encoding in a user id');
    }
    if (userId === '') {
      deferred.error(400, 'invalid_request', 'user id required');
      return;
    }
    options.disconnectUser(userId, 'disconnected by an operator').then(
      () => deferred.json(202, { status: 'accepted', user_id: userId }),
      (error: unknown) => {
        options.logger.error({ err: error }, 'disconnect command failed');
        deferred.error(503, 'unavailable', 'could not broadcast the command');
      },
    );
  }));

  app.any('/*', guard((res) => replyError(res, 404, 'not_found', 'try /healthz, /readyz or /metrics')));

  return {
    listen: async () => {
      const listening = await listenExclusive(app, options.host, options.port, 'MANAGEMENT_PORT');
      listenSocket = listening.socket;
      return listening.port;
    },
    close: () => {
      if (listenSocket !== undefined) uws.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
    },
  };
}
