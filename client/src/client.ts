import { resolveOptions, type ClientOptions } from './client-options.js';
import type { ResyncNotice } from './connection/resync.js';
import { Supervisor } from './connection/supervisor.js';
import { Emitter, reportListenerError } from './emitter.js';
import type { OrgcastClientError } from './errors.js';
import type { OrganizationAccessFrame, OrganizationEvent, TaskEvent } from './protocol/frames.js';
import type { ClientStatus } from './status.js';
import { StatusStream } from './status-stream.js';

/** What `on` can listen to, and what each listener receives. */
export interface ClientEvents<TData = unknown> {
  'task.event.created': TaskEvent<TData, 'task.event.created'>;
  'task.event.updated': TaskEvent<TData, 'task.event.updated'>;
  /** Every organization event, whatever its type (after the typed listeners). */
  '*': OrganizationEvent;
  'organization.access.granted': OrganizationAccessFrame;
  'organization.access.revoked': OrganizationAccessFrame;
  /** Events of this organization may have been missed: refetch its state. */
  resync: ResyncNotice;
  /** Diagnostics: each failed attempt, dropped connection, server `error` frame or malformed frame. */
  error: OrgcastClientError;
}

export interface OrgcastClient<TData = unknown> {
  /** The current status. */
  readonly status: ClientStatus;
  /** Listens to one kind of event; returns the function that stops listening. */
  on<K extends keyof ClientEvents<TData>>(type: K, listener: (event: ClientEvents<TData>[K]) => void): () => void;
  /** Organization events of a type this SDK does not know (yet). */
  on(type: string, listener: (event: OrganizationEvent) => void): () => void;
  /** Calls `listener` with the current status now, then on every change. Returns the unsubscribe function. */
  onStatus(listener: (status: ClientStatus) => void): () => void;
  /** Every status from the current one on; ends after `closed`. */
  statuses(): AsyncIterableIterator<ClientStatus>;
  /** The `resume` value a reconnect would send now (per organization, the last event id seen). */
  resumeCursor(): string | undefined;
  /** Closes for good. Resolves once the WebSocket is closed. */
  close(): Promise<void>;
}

/**
 * Creates a client and starts connecting at once (listeners added in the same tick miss nothing).
 * Throws ClientOptionsError for unusable options.
 */
export function createClient<TData = unknown>(options: ClientOptions): OrgcastClient<TData> {
  const settings = resolveOptions(options);
  const emitter = new Emitter<Record<string, unknown>>(reportListenerError);
  const status = new StatusStream({ type: 'connecting', transport: settings.fetch !== undefined && settings.pollingAfterFailures === 0 ? 'polling' : 'websocket', attempt: 1 }, reportListenerError);

  const supervisor = new Supervisor(settings, {
    status: (next) => status.set(next),
    event: (event) => {
      emitter.emit(event.event_type, event);
      emitter.emit('*', event);
    },
    access: (frame) => emitter.emit(frame.event_type, frame),
    resync: (notice) => emitter.emit('resync', notice),
    error: (error) => emitter.emit('error', error),
  });
  queueMicrotask(() => supervisor.start());

  return {
    get status() {
      return status.value;
    },
    on: (type: string, listener: (event: never) => void) => emitter.on(type, listener as (event: unknown) => void),
    onStatus: (listener) => status.subscribe(listener),
    statuses: () => status.iterate(),
    resumeCursor: () => supervisor.resumeCursor(),
    close: () => supervisor.close(),
  };
}
