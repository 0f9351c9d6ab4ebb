/**
 * The wire frames the client reads and writes (docs/protocol.md). JSON text, one envelope keyed by
 * `event_type`. Field names are the wire's: the SDK hands frames to the application unchanged.
 */

export const TASK_EVENT_TYPES = ['task.event.created', 'task.event.updated'] as const;
export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];

export interface ConnectionEstablishedData {
  readonly connection_id: string;
  readonly user_id: string;
  readonly organizations: readonly string[];
  readonly heartbeat_interval_ms: number;
  readonly heartbeat_timeout_ms: number;
  readonly max_payload_bytes: number;
  readonly pod: string;
  readonly token_expires_at: string;
  /** When to send `auth.refresh` with a fresh token (ms from now); absent from older gateways. */
  readonly refresh_in_ms?: number;
  /** Per organization named in `resume`: whether the history still reached back to the given id. */
  readonly recovered?: Readonly<Record<string, boolean>>;
  /**
   * Where this connection starts, per organization (the `resume` format): every later event
   * reaches it. Seeds the cursor, so even an organization without events can be resumed.
   */
  readonly resume?: string;
}

export interface ConnectionEstablishedFrame {
  readonly event_type: 'connection.established';
  readonly data: ConnectionEstablishedData;
}

/**
 * An event of an organization: a task event, or a type this SDK version does not know yet. `id` is
 * unique within the organization and increases with time (`<ms>-<seq>`).
 */
export interface OrganizationEvent<TType extends string = string, TData = unknown> {
  readonly event_type: TType;
  readonly id: string;
  readonly organization_id: string;
  /**
   * The id of the organization's event before this one. An event whose `prev` is not the id the
   * client saw last means one was missed on the way: the SDK resumes instead of delivering it.
   * Absent for events stored before the gateway kept it.
   */
  readonly prev?: string;
  readonly data: TData;
  readonly timestamp: string;
}

export type TaskEvent<TData = unknown, TType extends TaskEventType = TaskEventType> = OrganizationEvent<TType, TData>;

export interface OrganizationAccessFrame {
  readonly event_type: 'organization.access.granted' | 'organization.access.revoked';
  /** `position` (granted): the events that follow are exactly those after this id. */
  readonly data: { readonly organization_id: string; readonly position?: string };
}

/** The gateway took a refreshed token: its expiry, when to refresh next, the organizations it grants. */
export interface AuthRefreshedFrame {
  readonly event_type: 'auth.refreshed';
  readonly data: { readonly token_expires_at: string; readonly refresh_in_ms: number; readonly organizations: readonly string[] };
}

/** The gateway could not deliver some events of the organization: the application must refetch it. */
export interface OrganizationResyncFrame {
  readonly event_type: 'organization.resync';
  readonly data: { readonly organization_id: string; readonly reason: string };
}

export interface ServerErrorFrame {
  readonly event_type: 'error';
  readonly data: { readonly code: string; readonly message: string };
}

export interface PongFrame {
  readonly event_type: 'pong';
}

/** A frame the SDK does not interpret (no `id`/`organization_id`), passed through as is. */
export interface OtherFrame {
  readonly event_type: string;
  readonly [field: string]: unknown;
}

export type ServerFrame =
  | { readonly kind: 'established'; readonly frame: ConnectionEstablishedFrame }
  | { readonly kind: 'event'; readonly frame: OrganizationEvent }
  | { readonly kind: 'access'; readonly frame: OrganizationAccessFrame }
  | { readonly kind: 'refreshed'; readonly frame: AuthRefreshedFrame }
  | { readonly kind: 'resync'; readonly frame: OrganizationResyncFrame }
  | { readonly kind: 'error'; readonly frame: ServerErrorFrame }
  | { readonly kind: 'pong' }
  | { readonly kind: 'other'; readonly frame: OtherFrame };

/** `GET /api/poll` answer. */
export interface PollResponse {
  readonly events: readonly OrganizationEvent[];
  /** The cursor for the next call, passed back unchanged. */
  readonly resume: string;
  readonly recovered: Readonly<Record<string, boolean>>;
  /** Organizations the caller was removed from while the poll ran: none of their later events are in `events`. */
  readonly revoked: readonly string[];
}

export const PING_TEXT = '{"event_type":"ping"}';
