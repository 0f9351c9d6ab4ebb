import type { Session } from './session.js';
import type { SocketPort } from './socket-port.js';

/** The outcome of the checks and preparations in front of an upgrade. */
export type ConnectDecision =
  | { readonly ok: false; readonly status: number; readonly error: string; readonly message: string }
  | {
    readonly ok: true;
    /** Called synchronously inside the upgrade: registers the socket and makes it live. */
    open(socket: SocketPort): Session;
    /** The client went away before the upgrade (or `open` threw): undo the preparations. */
    cancel(): void;
  };
