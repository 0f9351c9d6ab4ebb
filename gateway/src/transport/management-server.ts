import * as uws from 'uWebSockets.js';
import type { us_listen_socket } from 'uWebSockets.js';
import type { HttpRoute } from '../http/http-exchange.js';
import type { HandlerFaults } from './handler-faults.js';
import { serveRoutes } from './http-routes.js';
import { listenExclusive } from './listen.js';

export interface ManagementServerOptions {
  readonly host: string;
  readonly port: number;
  /** Health, metrics and (with ADMIN_TOKEN) admin routes. */
  readonly routes: readonly HttpRoute[];
  readonly faults: HandlerFaults;
}

export interface ManagementServer {
  listen(): Promise<number>;
  close(): void;
}

/** The management port: liveness, readiness, Prometheus metrics, admin. Never exposed through the ingress. */
export function createManagementServer(options: ManagementServerOptions): ManagementServer {
  const app = uws.App();
  let listenSocket: us_listen_socket | undefined;
  serveRoutes(app, options.routes, options.faults, 'try /healthz, /readyz or /metrics');
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
