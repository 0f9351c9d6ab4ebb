import { serialisedData } from '../protocol/event-data.js';
import { isMembershipEventType, isTaskEventType, type MembershipEventType, type TaskEventType } from '../protocol/frames.js';

/** What the development endpoint publishes, as the task service would. */
export type DevPublishMessage =
  | { readonly eventType: TaskEventType; readonly organizationId: string; readonly data: unknown; readonly messageId?: string }
  | { readonly eventType: MembershipEventType; readonly organizationId: string; readonly userId: string };

/** Validates a publish request body; returns the message or a human-readable problem. */
export function parseDevMessage(body: Buffer): DevPublishMessage | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'body is not valid JSON';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'body must be a JSON object';
  const { event_type: eventType, organization_id: organizationId, user_id: userId, data } = parsed as Record<string, unknown>;
  if (typeof organizationId !== 'string' || organizationId.length === 0) return 'organization_id must be a non-empty string';
  if (isTaskEventType(eventType)) {
    // Refused here, as the broker path would dead-letter it, instead of failing in the publish.
    if (serialisedData(data) === undefined) return 'data nests too deeply to be serialised';
    return { eventType, organizationId, data: data ?? null };
  }
  if (isMembershipEventType(eventType)) {
    if (typeof userId !== 'string' || userId.length === 0) return 'user_id must be a non-empty string';
    return { eventType, organizationId, userId };
  }
  return 'event_type must be task.event.created, task.event.updated, organization.member.added or organization.member.removed';
}
