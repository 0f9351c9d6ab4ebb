/**
 * Builds the client frame of a task event as text. `dataJson` is the publisher's payload already
 * serialised, so an event is serialised once (at sequencing) and never parsed again on its way to
 * sockets. Key order matches docs/protocol.md.
 */
export function taskFrameJson(eventType: string, id: string, organizationId: string, dataJson: string, timestampMs: number): string {
  return `{"event_type":${JSON.stringify(eventType)},"id":${JSON.stringify(id)},"organization_id":${JSON.stringify(organizationId)},"data":${dataJson},"timestamp":"${new Date(timestampMs).toISOString()}"}`;
}
