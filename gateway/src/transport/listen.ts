import * as uws from 'uWebSockets.js';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { PortInUseError } from './port-in-use-error.js';

/**
 * uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT: bind without SO_REUSEPORT. By default uWS shares a port
 * with any other process listening on it, and the kernel then splits new connections between them
 * (a second gateway started by mistake would silently take half of the clients).
 */
const LISTEN_EXCLUSIVE_PORT = 1;


export interface Listening {
  readonly socket: us_listen_socket;
  readonly port: number;
}

/** Listens on `host:port` alone; rejects with PortInUseError when it cannot (`what` names the port in the message). */
export function listenExclusive(app: TemplatedApp, host: string, port: number, what: string): Promise<Listening> {
  return new Promise((resolve, reject) => {
    // The typings list (port, options, cb) only; the native call also takes the host first.
    const listen = app.listen as unknown as (host: string, port: number, options: number, cb: (socket: us_listen_socket | false) => void) => TemplatedApp;
    listen.call(app, host, port, LISTEN_EXCLUSIVE_PORT, (socket) => {
      if (socket === false) {
        reject(new PortInUseError(`${what}: ${host}:${port} is already in use (is another gateway running?), or cannot be bound`));
        return;
      }
      resolve({ socket, port: uws.us_socket_local_port(socket as unknown as uws.us_socket) });
    });
  });
}
