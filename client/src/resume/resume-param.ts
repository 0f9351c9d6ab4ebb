import { ProtocolError } from '../errors.js';

/**
 * The `resume` value: comma-separated `organization:id` pairs, each part percent-encoded, so an
 * organization id may contain `:` or `,`. The same text goes into `/api/ws?resume=` and
 * `/api/poll?resume=` (URL-encoded once more as a query value), and comes back from `/api/poll`.
 */
export function encodeResume(cursor: Iterable<readonly [organizationId: string, eventId: string]>): string {
  const pairs: string[] = [];
  for (const [organizationId, eventId] of cursor) pairs.push(`${encodeURIComponent(organizationId)}:${encodeURIComponent(eventId)}`);
  return pairs.join(',');
}

/** Parses a `resume` value; throws ProtocolError when a pair is malformed. */
export function decodeResume(text: string): Map<string, string> {
  const cursor = new Map<string, string>();
  if (text === '') return cursor;
  for (const pair of text.split(',')) {
    const colon = pair.lastIndexOf(':');
    if (colon <= 0 || colon === pair.length - 1) throw new ProtocolError(`malformed resume pair "${pair}"`);
    try {
      cursor.set(decodeURIComponent(pair.slice(0, colon)), decodeURIComponent(pair.slice(colon + 1)));
    } catch (error) {
      throw new ProtocolError(`malformed percent-encoding in resume pair "${pair}"`, { cause: error });
    }
  }
  return cursor;
}
