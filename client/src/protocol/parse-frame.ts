import type { ConnectionEstablishedData, OrganizationEvent, PollResponse, ServerFrame } from './frames.js';
import { ProtocolError } from '../errors.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isBooleanRecord(value: unknown): value is Record<string, boolean> {
  return isObject(value) && Object.values(value).every((v) => typeof v === 'boolean');
}

/** An organization event: has a non-empty `id` and `organization_id`. */
export function toOrganizationEvent(value: unknown): OrganizationEvent | undefined {
  if (!isObject(value) || !isNonEmptyString(value.event_type)) return undefined;
  if (!isNonEmptyString(value.id) || !isNonEmptyString(value.organization_id)) return undefined;
  return {
    event_type: value.event_type,
    id: value.id,
    organization_id: value.organization_id,
    ...(isNonEmptyString(value.prev) && { prev: value.prev }),
    data: value.data ?? null,
    timestamp: typeof value.timestamp === 'string' ? value.timestamp : '',
  };
}

function toEstablished(data: unknown): ConnectionEstablishedData {
  if (!isObject(data) || !isNonEmptyString(data.connection_id) || !Array.isArray(data.organizations)
    || !data.organizations.every(isNonEmptyString) || typeof data.heartbeat_interval_ms !== 'number') {
    throw new ProtocolError('connection.established lacks connection_id, organizations or heartbeat_interval_ms');
  }
  if (data.recovered !== undefined && !isBooleanRecord(data.recovered)) {
    throw new ProtocolError('connection.established has a malformed recovered map');
  }
  return data as unknown as ConnectionEstablishedData;
}

/** Parses one text frame from the gateway; throws ProtocolError for frames it cannot use. */
export function parseServerFrame(text: string): ServerFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError('frame is not valid JSON', { cause: error });
  }
  if (!isObject(value) || !isNonEmptyString(value.event_type)) throw new ProtocolError('frame is not an object with an event_type');
  const type = value.event_type;
  if (type === 'connection.established') {
    return { kind: 'established', frame: { event_type: type, data: toEstablished(value.data) } };
  }
  if (type === 'pong') return { kind: 'pong' };
  if (type === 'organization.access.granted' || type === 'organization.access.revoked') {
    if (!isObject(value.data) || !isNonEmptyString(value.data.organization_id)) throw new ProtocolError(`${type} lacks data.organization_id`);
    const position = value.data.position;
    return { kind: 'access', frame: { event_type: type, data: { organization_id: value.data.organization_id, ...(isNonEmptyString(position) && { position }) } } };
  }
  if (type === 'auth.refreshed') {
    const data = value.data;
    if (!isObject(data) || typeof data.refresh_in_ms !== 'number' || typeof data.token_expires_at !== 'string' || !Array.isArray(data.organizations) || !data.organizations.every(isNonEmptyString)) {
      throw new ProtocolError('auth.refreshed lacks refresh_in_ms, token_expires_at or organizations');
    }
    return { kind: 'refreshed', frame: { event_type: type, data: { token_expires_at: data.token_expires_at, refresh_in_ms: data.refresh_in_ms, organizations: data.organizations } } };
  }
  if (type === 'organization.resync') {
    if (!isObject(value.data) || !isNonEmptyString(value.data.organization_id)) throw new ProtocolError(`${type} lacks data.organization_id`);
    return { kind: 'resync', frame: { event_type: type, data: { organization_id: value.data.organization_id, reason: String(value.data.reason ?? 'history_truncated') } } };
  }
  if (type === 'error') {
    const data = isObject(value.data) ? value.data : {};
    return { kind: 'error', frame: { event_type: type, data: { code: String(data.code ?? 'unknown'), message: String(data.message ?? '') } } };
  }
  const event = toOrganizationEvent(value);
  if (event !== undefined) return { kind: 'event', frame: event };
  return { kind: 'other', frame: { ...value, event_type: type } };
}

/** Validates a `GET /api/poll` body. */
export function parsePollResponse(value: unknown): PollResponse {
  if (!isObject(value) || !Array.isArray(value.events) || typeof value.resume !== 'string') {
    throw new ProtocolError('poll response lacks events or resume');
  }
  const events: OrganizationEvent[] = [];
  for (const item of value.events) {
    const event = toOrganizationEvent(item);
    if (event === undefined) throw new ProtocolError('poll response holds an event without id or organization_id');
    events.push(event);
  }
  const recovered = value.recovered === undefined ? {} : value.recovered;
  if (!isBooleanRecord(recovered)) throw new ProtocolError('poll response has a malformed recovered map');
  const revoked = value.revoked === undefined ? [] : value.revoked;
  if (!Array.isArray(revoked) || !revoked.every((org): org is string => typeof org === 'string')) throw new ProtocolError('poll response has a malformed revoked list');
  return { events, resume: value.resume, recovered, revoked };
}
