import { MAX_ORGANIZATION_ID_LENGTH, isMembershipEventType, isTaskEventType } from '../protocol/frames.js';
import type { DeadLetterReason } from '../metrics/metrics.js';
import { serialisedData } from '../protocol/event-data.js';
import type { InboundMembershipChange, InboundTaskEvent } from '../events/inbound-event.js';
import { CANARY_ROUTING_PREFIX } from './routing-keys.js';

/** Longest organization or user id accepted, in UTF-16 code units. */
export const MAX_ID_LENGTH = MAX_ORGANIZATION_ID_LENGTH;

/** Header a publisher may set for a millisecond-precise publish time (the AMQP timestamp has seconds). */
export const PUBLISHED_AT_HEADER = 'x-published-at-ms';

/** Header that may carry the organization when the body has none. */
export const ORGANIZATION_HEADER = 'organization_id';

export interface BrokerMessage {
  readonly routingKey: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, unknown>> | undefined;
  /** AMQP `timestamp` property: seconds since the epoch (a value that can only be milliseconds is read as such). */
  readonly timestampSeconds?: number | undefined;
  readonly messageId?: string | undefined;
  readonly receivedAtMs: number;
}

export type ParsedBrokerMessage =
  | { readonly kind: 'task'; readonly event: InboundTaskEvent }
  | { readonly kind: 'membership'; readonly change: InboundMembershipChange }
  | { readonly kind: 'canary'; readonly pod: string; readonly sentAtMs: number }
  | { readonly kind: 'invalid'; readonly reason: DeadLetterReason; readonly detail: string };

type Invalid = Extract<ParsedBrokerMessage, { kind: 'invalid' }>;
type JsonObject = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Validates one broker message against the publisher contract. Pure: never throws, never logs.
 * `detail` is safe to log: it names what is wrong, never the body's content.
 */
export function parseBrokerMessage(message: BrokerMessage): ParsedBrokerMessage {
  const body = parseJsonObject(message.body);
  if ('kind' in body) return body;
  if (message.routingKey.startsWith(CANARY_ROUTING_PREFIX)) return parseCanary(message.routingKey, body.value);

  const rawType = body.value['event_type'] ?? message.routingKey;
  if (typeof rawType !== 'string') return invalid('invalid_shape', 'event_type is not a string');
  if (isTaskEventType(rawType)) {
    const organizationId = resolveOrganization(body.value, message.headers);
    if (typeof organizationId !== 'string') return organizationId;
    const dataJson = serialisedData('data' in body.value ? body.value['data'] : null);
    if (dataJson === undefined) return invalid('invalid_shape', 'data nests too deeply to be serialised');
    return {
      kind: 'task',
      event: {
        eventType: rawType,
        organizationId,
        dataJson,
        publishedAtMs: publishedAtHeaderMs(message.headers) ?? amqpTimestampMs(message.timestampSeconds) ?? bodyTimestampMs(body.value),
        messageId: message.messageId !== undefined && message.messageId !== '' ? message.messageId : undefined,
      },
    };
  }
  if (isMembershipEventType(rawType)) {
    const organizationId = resolveOrganization(body.value, message.headers);
    if (typeof organizationId !== 'string') return organizationId;
    const userId = body.value['user_id'];
    if (typeof userId !== 'string' || userId === '' || userId.length > MAX_ID_LENGTH) {
      return invalid('invalid_shape', `user_id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    return {
      kind: 'membership',
      change: {
        eventType: rawType,
        organizationId,
        userId,
        atMs: bodyTimestampMs(body.value) ?? amqpTimestampMs(message.timestampSeconds) ?? message.receivedAtMs,
      },
    };
  }
  return invalid('unknown_event_type', `unknown event type ${JSON.stringify(rawType.slice(0, 100))}`);
}

function invalid(reason: DeadLetterReason, detail: string): Invalid {
  return { kind: 'invalid', reason, detail };
}

function parseJsonObject(bytes: Buffer): Invalid | { value: JsonObject } {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (error) {
    return invalid('malformed_json', error instanceof SyntaxError ? 'body is not valid JSON' : 'body is not valid UTF-8');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return invalid('invalid_shape', `body must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return { value: value as JsonObject };
}

/** The body's `organization_id` wins; the header is used only when the body has none. */
function resolveOrganization(body: JsonObject, headers: BrokerMessage['headers']): string | Invalid {
  const fromBody = body['organization_id'];
  const raw = fromBody !== undefined && fromBody !== null ? fromBody : headers?.[ORGANIZATION_HEADER];
  if (raw === undefined || raw === null || raw === '') return invalid('missing_organization', 'no organization_id in body or headers');
  if (typeof raw !== 'string') return invalid('invalid_shape', 'organization_id is not a string');
  if (raw.length > MAX_ID_LENGTH) return invalid('invalid_shape', `organization_id is longer than ${MAX_ID_LENGTH} characters`);
  return raw;
}

function parseCanary(routingKey: string, body: JsonObject): ParsedBrokerMessage {
  const pod = routingKey.slice(CANARY_ROUTING_PREFIX.length);
  if (pod === '') return invalid('invalid_shape', 'canary routing key names no pod');
  if (body['pod'] !== undefined && body['pod'] !== pod) return invalid('invalid_shape', 'canary pod does not match its routing key');
  const sentAtMs = body['sent_at_ms'];
  if (!isTimeMs(sentAtMs)) return invalid('invalid_shape', 'canary sent_at_ms is not a time in milliseconds');
  return { kind: 'canary', pod, sentAtMs };
}

/** Header `x-published-at-ms`: a number, or a decimal string (some clients only send strings). */
export function publishedAtHeaderMs(headers: BrokerMessage['headers']): number | undefined {
  return timeHeaderMs(headers, PUBLISHED_AT_HEADER);
}

/** A header holding milliseconds since the epoch, as a number or a string of digits; else undefined. */
export function timeHeaderMs(headers: BrokerMessage['headers'], name: string): number | undefined {
  const raw = headers?.[name];
  const value = typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : raw;
  return isTimeMs(value) ? value : undefined;
}

/**
 * The AMQP timestamp is in seconds, but some publishers put `Date.now()` there. Anything above
 * 1e11 (the year 5138 in seconds, 1973 in milliseconds) can only be milliseconds.
 */
function amqpTimestampMs(seconds: number | undefined): number | undefined {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  const ms = seconds > 1e11 ? seconds : seconds * 1000;
  // Beyond what a Date can hold (nanoseconds, say): ignored like any other unreadable time.
  return isTimeMs(ms) ? ms : undefined;
}

/** Body `timestamp`: an ISO 8601 string or epoch milliseconds. Anything else is ignored. */
function bodyTimestampMs(body: JsonObject): number | undefined {
  const raw = body['timestamp'];
  if (typeof raw === 'string') {
    const parsed = Date.parse(raw);
    return isTimeMs(parsed) ? parsed : undefined;
  }
  return isTimeMs(raw) ? raw : undefined;
}

function isTimeMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 8.64e15;
}
