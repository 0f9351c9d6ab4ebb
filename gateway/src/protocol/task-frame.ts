/**
 * Builds the client frame of a task event as text. `dataJson` is the publisher's payload already
 * serialised, so an event is serialised once (at sequencing) and never parsed again on its way to
 * sockets. `prev` is the id of the organization's event before it (absent for entries written
 * before the history kept it): a client that did not see `prev` last knows it missed something.
 * Key order matches docs/protocol.md.
 */
export function taskFrameJson(eventType: string, id: string, prev: string | undefined, organizationId: string, dataJson: string, timestampMs: number): string {
  const chain = prev === undefined ? '' : `,"prev":${JSON.stringify(prev)}`;
  return `{"event_type":${JSON.stringify(eventType)},"id":${JSON.stringify(id)}${chain},"organization_id":${JSON.stringify(organizationId)},"data":${dataJson},"timestamp":"${new Date(timestampMs).toISOString()}"}`;
}
