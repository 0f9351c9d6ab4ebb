import * as uws from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { UpgradeRequest } from '../admission/admission.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { ConnectionManager } from '../session/connection-manager.js';
import type { Session } from '../session/session.js';
import type { SocketPort, TopicBroadcaster } from '../session/socket-port.js';
import type { HandlerFaults } from './handler-faults.js';
import { listenExclusive } from './listen.js';
import { DeferredResponse, replyError } from './http-reply.js';
import { UwsSocket } from './uws-socket.js';

/** The outcome of the checks and preparations in front of an upgrade. */
export type ConnectDecision =
  | { readonly ok: false; readonly status: number; readonly error: string; readonly message: string }
  | {
    readonly ok: true;
    /** Called synchronously inside the upgrade: registers the socket and makes it live. */
    open(socket: SocketPort): Session;
    /** The client went away before the upgrade: undo the preparations. */
    cancel(): void;
  };

interface UserData {
  /** Dropped once the socket is open: it holds the catch-up frames and the admission's closures. */
  decision: Extract<ConnectDecision, { ok: true }> | undefined;
  session: Session | undefined;
  /** A frame was dropped for backpressure; the slow-consumer close is scheduled. */
  dropping: boolean;
}

/** A handler for an extra HTTP route on the public port (dev publish, polling, demo). */
export interface PublicRoute {
  readonly method: 'get' | 'post' | 'options';
  readonly pattern: string;
  readonly handle: (res: HttpResponse, req: HttpRequest) => void;
}

export interface PublicServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxPayloadBytes: number;
  readonly maxBackpressureBytes: number;
  readonly heartbeatTimeoutMs: number;
  readonly connect: (request: UpgradeRequest, pending: number) => Promise<ConnectDecision>;
  readonly manager: ConnectionManager;
  readonly logger: Logger;
  readonly faults: HandlerFaults;
  readonly routes?: readonly PublicRoute[];
}

export interface PublicServer {
  readonly broadcaster: TopicBroadcaster;
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
  const { manager, logger, faults } = options;
  const app: TemplatedApp = uws.App();
  let listenSocket: us_listen_socket | undefined;
  let pending = 0;
  // uWS cuts frames above its own limit without a close frame; frames between MAX_PAYLOAD_BYTES and
  // this cap get a proper 1009 close (see docs/protocol.md).
  const hardPayloadCap = Math.max(options.maxPayloadBytes * 4, 64 * 1024);

  app.ws<UserData>('/api/ws', {
    maxPayloadLength: hardPayloadCap,
    maxBackpressure: options.maxBackpressureBytes,
    closeOnBackpressureLimit: false,
    idleTimeout: Math.ceil((options.heartbeatTimeoutMs + 8_000) / 1000 / 4) * 4,
    sendPingsAutomatically: false,

    upgrade: (res, req, context) => faults.run('upgrade', () => {
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const request: UpgradeRequest = {
        remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
        forwardedFor: req.getHeader('x-forwarded-for') || undefined,
        origin: req.getHeader('origin') || undefined,
        authorization: req.getHeader('authorization'),
        query: req.getQuery() ?? '',
        connection: req.getHeader('connection'),
      };
      const deferred = new DeferredResponse(res);
      pending += 1;
      options.connect(request, pending).then(
        (decision) => {
          pending -= 1;
          if (!decision.ok) {
            deferred.error(decision.status, decision.error, decision.message, decision.status === 503 || decision.status === 429 ? { 'retry-after': '1' } : {});
            return;
          }
          if (deferred.isAborted) {
            decision.cancel();
            return;
          }
          deferred.upgrade((r) => r.upgrade<UserData>({ decision, session: undefined, dropping: false }, key, protocol, extensions, context));
        },
        (error: unknown) => {
          pending -= 1;
          faults.report('upgrade', error);
          deferred.error(500, 'internal', 'internal error');
        },
      );
    }, () => DeferredResponse.of(res).error(500, 'internal', 'internal error')),

    // The upgrade above is not corked (see DeferredResponse.upgrade), so the frames the session sends
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
        if (isBinary) {
          session.onBinary();
        } else if (message.byteLength > options.maxPayloadBytes) {
          session.close(CloseCode.MessageTooBig, 'frame too big', 'protocol_violation');
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

    dropped: (ws) => {
      const data = ws.getUserData();
      const session = data.session;
      if (session === undefined || data.dropping) return;
      data.dropping = true;
      // Closing inside uWS's publish loop is not allowed: close right after it.
      setImmediate(() => session.close(CloseCode.SlowConsumer, 'slow consumer: outgoing buffer full', 'slow_consumer'));
    },

    close: (ws, code, message) => {
      const session = ws.getUserData().session;
      if (code === 1006) logger.debug({ connection: session?.id, why: textDecoder.decode(message) }, 'socket dropped without a close frame');
      if (session !== undefined) faults.run('close', () => manager.closed(session, code), () => undefined);
    },
  });

  // uWS hands a GET without `Upgrade: websocket` on to the next handler of the pattern: this one.
  app.get('/api/ws', (res) => replyError(res, 400, 'invalid_request', 'this endpoint needs a WebSocket handshake (Upgrade: websocket); long-poll at /api/poll'));
  for (const route of options.routes ?? []) {
    app[route.method](route.pattern, (res, req) => faults.run('http', () => route.handle(res, req), () => DeferredResponse.of(res).error(500, 'internal', 'internal error')));
  }
  app.any('/*', (res) => replyError(res, 404, 'not_found', 'no such endpoint'));

  return {
    broadcaster: {
      publish: (topic, text) => {
        const receivers = app.numSubscribers(topic);
        if (receivers > 0) app.publish(topic, text, false, false);
        return receivers;
      },
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
