import * as uws from 'uWebSockets.js';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { UpgradeRequest } from '../admission/admission.js';
import { admissionRequestOf } from '../admission/admission-request.js';
import { replyError, type HttpRoute } from '../http/http-exchange.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { ConnectDecision } from '../session/connect-decision.js';
import type { ConnectionManager } from '../session/connection-manager.js';
import type { Session } from '../session/session.js';
import type { TopicBroadcaster } from '../session/socket-port.js';
import type { HandlerFaults } from './handler-faults.js';
import { admitExchange, serveRoutes } from './http-routes.js';
import { listenExclusive } from './listen.js';
import { handshakeProblem } from './websocket-handshake.js';
import { UwsSocket } from './uws-socket.js';

interface UserData {
  /** Dropped once the socket is open: it holds the catch-up frames and the admission's closures. */
  decision: Extract<ConnectDecision, { ok: true }> | undefined;
  session: Session | undefined;
  /** A frame was dropped for backpressure; the slow-consumer close is scheduled. */
  dropping: boolean;
}

export interface PublicServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxPayloadBytes: number;
  readonly maxBackpressureBytes: number;
  readonly heartbeatTimeoutMs: number;
  readonly logger: Logger;
  readonly faults: HandlerFaults;
}

/** What the public port serves: `/api/ws` through the connect flow, and extra HTTP routes. */
export interface PublicHandlers {
  readonly connect: (request: UpgradeRequest, pending: number) => Promise<ConnectDecision>;
  readonly manager: ConnectionManager;
  /** Extra HTTP routes on the public port (polling, dev publish). */
  readonly routes?: readonly HttpRoute[];
}

export interface PublicServer {
  /** The topics of the port's sockets: usable at once, before `serve`. */
  readonly broadcaster: TopicBroadcaster;
  /** Registers the handlers (once, before `listen`). */
  serve(handlers: PublicHandlers): void;
  /** The bound port (useful with port 0). */
  listen(): Promise<number>;
  /** Stops accepting new TCP connections; open sockets stay. */
  stopListening(): void;
  isListening(): boolean;
}

const textDecoder = new TextDecoder();

/** After an unexpected exception in a socket's handler: close it as the server's fault (1011). */
function closeAfterFault(ws: uws.WebSocket<UserData>): void {
  const session = ws.getUserData().session;
  if (session !== undefined) session.close(CloseCode.InternalError, 'internal error', 'internal_error');
  else ws.end(CloseCode.InternalError, 'internal error');
}

/** The public port: `/api/ws` plus the extra routes. The only place that speaks uWS WebSockets. */
export function createPublicServer(options: PublicServerOptions): PublicServer {
  const { logger, faults } = options;
  const app: TemplatedApp = uws.App();
  let listenSocket: us_listen_socket | undefined;
  // uWS cuts frames above its own limit without a close frame; frames between MAX_PAYLOAD_BYTES and
  // this cap get a proper 1009 close (see docs/protocol.md).
  const hardPayloadCap = Math.max(options.maxPayloadBytes * 4, 64 * 1024);

  const serve = (handlers: PublicHandlers): void => {
    const { manager } = handlers;
    let pending = 0;
    app.ws<UserData>('/api/ws', {
      maxPayloadLength: hardPayloadCap,
      maxBackpressure: options.maxBackpressureBytes,
      closeOnBackpressureLimit: false,
      idleTimeout: Math.ceil((options.heartbeatTimeoutMs + 8_000) / 1000 / 4) * 4,
      sendPingsAutomatically: false,

      upgrade: (res, req, context) => {
        let exchange: ReturnType<typeof admitExchange>;
        faults.run('upgrade', () => {
          exchange = admitExchange(res, req);
          if (exchange === undefined) return;
          const upgrading = exchange;
          const problem = handshakeProblem(upgrading);
          if (problem !== undefined) {
            replyError(upgrading, problem.status, 'invalid_request', problem.message, problem.headers);
            return;
          }
          const key = upgrading.header('sec-websocket-key') ?? '';
          const protocol = upgrading.header('sec-websocket-protocol') ?? '';
          const extensions = upgrading.header('sec-websocket-extensions') ?? '';
          pending += 1;
          handlers.connect(admissionRequestOf(upgrading), pending).then(
            (decision) => {
              pending -= 1;
              if (!decision.ok) {
                replyError(upgrading, decision.status, decision.error, decision.message, decision.status === 503 || decision.status === 429 ? { 'retry-after': '1' } : {});
              } else if (upgrading.settled) {
                decision.cancel();
              } else {
                upgrading.upgrade<UserData>({ decision, session: undefined, dropping: false }, key, protocol, extensions, context);
              }
            },
            (error: unknown) => {
              pending -= 1;
              faults.report('upgrade', error);
              replyError(upgrading, 500, 'internal', 'internal error');
            },
          );
        }, () => {
          if (exchange !== undefined) replyError(exchange, 500, 'internal', 'internal error');
          else res.cork(() => res.writeStatus('500 Internal Server Error').end('{"error":"internal","message":"internal error"}'));
        });
      },

      // The upgrade above is not corked (see UwsExchange.upgrade), so the frames the session sends
      // on open are corked here, on the WebSocket: one write for all of them.
      open: (ws) => {
        const data = ws.getUserData();
        const decision = data.decision;
        data.decision = undefined;
        if (decision === undefined) return;
        faults.run('open', () => ws.cork(() => {
          data.session = decision.open(new UwsSocket(ws));
        }), () => {
          // `open` registers the session last: nothing of it is left but the preparations to undo.
          if (data.session === undefined) decision.cancel();
          closeAfterFault(ws);
        });
      },

      message: (ws, message, isBinary) => {
        const session = ws.getUserData().session;
        if (session === undefined) return;
        faults.run('message', () => {
          if (message.byteLength > options.maxPayloadBytes) {
            session.close(CloseCode.MessageTooBig, 'frame too big', 'protocol_violation');
          } else if (isBinary) {
            session.onBinary();
          } else {
            session.onText(textDecoder.decode(message), Date.now());
          }
        }, () => closeAfterFault(ws));
      },

      ping: (ws) => {
        ws.getUserData().session?.onPing(Date.now());
      },

      pong: (ws) => {
        ws.getUserData().session?.touch(Date.now());
      },

      drain: (ws) => {
        const session = ws.getUserData().session;
        if (session !== undefined) faults.run('message', () => session.onDrain(), () => closeAfterFault(ws));
      },

      dropped: (ws) => {
        const data = ws.getUserData();
        const session = data.session;
        if (session === undefined || data.dropping) return;
        data.dropping = true;
        // A published frame was dropped (the socket is over MAX_BACKPRESSURE_BYTES). Closing inside
        // uWS's drain of published frames is not allowed; the immediate runs right after that drain,
        // in the same loop turn. Should a later frame slip through before, the client sees its `prev`
        // differ from the id it got last, and resumes.
        setImmediate(() => session.close(CloseCode.SlowConsumer, 'slow consumer: outgoing buffer full', 'slow_consumer'));
      },

      close: (ws, code, message) => {
        const session = ws.getUserData().session;
        if (code === 1006) logger.debug({ connection: session?.id, why: textDecoder.decode(message) }, 'socket dropped without a close frame');
        if (session !== undefined) faults.run('close', () => manager.closed(session, code), () => undefined);
      },
    });

    // uWS hands a GET without `Upgrade: websocket` on to the next handler of the pattern: this one.
    const plainGet: HttpRoute = {
      method: 'get',
      pattern: '/api/ws',
      handle: (exchange) => replyError(exchange, 400, 'invalid_request', 'this endpoint needs a WebSocket handshake (Upgrade: websocket); long-poll at /api/poll'),
  };
  serveRoutes(app, [plainGet, ...(handlers.routes ?? [])], faults, 'no such endpoint');
  };

  return {
    serve,
    broadcaster: {
      publish: (topic, text) => {
        const receivers = app.numSubscribers(topic);
        if (receivers > 0) app.publish(topic, text, false, false);
        return receivers;
      },
      subscribers: (topic) => app.numSubscribers(topic),
    },
    listen: async () => {
      const listening = await listenExclusive(app, options.host, options.port, 'PORT');
      listenSocket = listening.socket;
      return listening.port;
    },
    stopListening: () => {
      if (listenSocket !== undefined) uws.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
    },
    isListening: () => listenSocket !== undefined,
  };
}
