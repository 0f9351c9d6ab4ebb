import type { OrgcastClientError } from './errors.js';

export type Transport = 'websocket' | 'polling';

/**
 * The client's connection state: one discriminated union on `type`.
 *
 * - `connecting`: an attempt is in flight (a WebSocket waiting for `connection.established`, or the
 *   first `/api/poll` after switching to polling). `attempt` counts from 1 since the last success.
 * - `connected`: a WebSocket is established; events flow.
 * - `polling`: the WebSocket could not be used; events flow through `/api/poll` while the client
 *   keeps trying to upgrade back in the background.
 * - `reconnecting`: the last attempt failed or the connection dropped; the next attempt starts in
 *   `delayMs`.
 * - `closed`: final. `reason` says why: `client` (close() was called), `terminal` (the gateway said
 *   not to reconnect: 44xx, or a 403), `max_attempts` (maxAttempts consecutive failures).
 */
export type ClientStatus =
  | { readonly type: 'connecting'; readonly transport: Transport; readonly attempt: number }
  | {
      readonly type: 'connected';
      readonly transport: 'websocket';
      readonly connectionId: string;
      readonly userId: string;
      readonly organizations: readonly string[];
      readonly pod: string;
    }
  | { readonly type: 'polling'; readonly transport: 'polling'; readonly organizations: readonly string[] }
  | {
      readonly type: 'reconnecting';
      readonly transport: Transport;
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: OrgcastClientError;
    }
  | { readonly type: 'closed'; readonly reason: 'client' | 'terminal' | 'max_attempts'; readonly error?: OrgcastClientError };

export type ClientStatusType = ClientStatus['type'];
