/** Wire frames: JSON text, one envelope keyed by `event_type`. See docs/protocol.md. */

/** Longest organization or user id anywhere (events, tokens), in UTF-16 code units. */
export const MAX_ORGANIZATION_ID_LENGTH = 256;

export const TASK_EVENT_TYPES = ['task.event.created', 'task.event.updated'] as const;
export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];

export const MEMBERSHIP_EVENT_TYPES = ['organization.member.added', 'organization.member.removed'] as const;
export type MembershipEventType = (typeof MEMBERSHIP_EVENT_TYPES)[number];

export function isTaskEventType(value: unknown): value is TaskEventType {
  return value === 'task.event.created' || value === 'task.event.updated';
}

export function isMembershipEventType(value: unknown): value is MembershipEventType {
  return value === 'organization.member.added' || value === 'organization.member.removed';
}

export interface ConnectionEstablishedFrame {
  event_type: 'connection.established';
  data: {
    connection_id: string;
    user_id: string;
    organizations: string[];
    /** Per organization named in `resume`: whether the history reached back to the given id. */
    recovered?: Record<string, boolean>;
    /** The cursor to reconnect with (same format as the `resume` parameter), where this connection starts. */
    resume: string;
    heartbeat_interval_ms: number;
    heartbeat_timeout_ms: number;
    max_payload_bytes: number;
    pod: string;
    token_expires_at: string;
    /** When the client should send `auth.refresh` with a fresh token (ms from now). */
    refresh_in_ms: number;
  };
}

/** The answer to a successful `auth.refresh`: the new expiry and the organizations it grants. */
export interface AuthRefreshedFrame {
  event_type: 'auth.refreshed';
  data: { token_expires_at: string; refresh_in_ms: number; organizations: string[] };
}

/** A task event as delivered to clients. `data` is the publisher's payload, unchanged. */
export interface TaskEventFrame {
  event_type: TaskEventType;
  id: string;
  organization_id: string;
  data: unknown;
  timestamp: string;
}

export interface PongFrame {
  event_type: 'pong';
}

export type ErrorCode =
  | 'malformed_json'
  | 'invalid_frame'
  | 'unknown_event_type'
  | 'binary_not_supported'
  | 'rate_limited'
  | 'refresh_failed';

export interface ErrorFrame {
  event_type: 'error';
  data: { code: ErrorCode; message: string };
}

export interface OrganizationChangedFrame {
  event_type: 'organization.access.granted' | 'organization.access.revoked';
  /**
   * `position` (granted only): the organization's id the grant took effect at; the events that
   * follow it are exactly those after it (the client's resume point for the organization).
   */
  data: { organization_id: string; position?: string };
}

/**
 * Events of the organization may have been missed and cannot be recovered (the history no longer
 * holds them, or Redis lost its data): the client should refetch the organization's state. Events
 * that follow are live again, without a gap.
 */
export interface OrganizationResyncFrame {
  event_type: 'organization.resync';
  data: { organization_id: string; reason: ResyncReason };
}

/** `history_truncated`: the history was trimmed past what this connection had; `history_lost`: Redis lost its data. */
export type ResyncReason = 'history_truncated' | 'history_lost';

export function resyncFrameJson(organizationId: string, reason: ResyncReason): string {
  const frame: OrganizationResyncFrame = { event_type: 'organization.resync', data: { organization_id: organizationId, reason } };
  return JSON.stringify(frame);
}

export type ServerFrame =
  | ConnectionEstablishedFrame
  | TaskEventFrame
  | PongFrame
  | ErrorFrame
  | OrganizationChangedFrame
  | OrganizationResyncFrame;

/** Client → server frames the gateway understands. */
export interface PingFrame {
  event_type: 'ping';
}
export type ClientFrame = PingFrame;

export const PONG_TEXT = '{"event_type":"pong"}';
