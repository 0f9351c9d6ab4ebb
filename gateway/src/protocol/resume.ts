import { isEventId } from '../history/event-id.js';

/**
 * The `resume` parameter: comma-separated `organization:id` pairs, each part percent-encoded.
 * Shared by `/api/ws` and `/api/poll` (whose answer carries the next cursor in the same format).
 */
export type ResumeCursor = ReadonlyMap<string, string>;

export class ResumeParseError extends Error {
  override readonly name = 'ResumeParseError';
}

const MAX_PAIRS = 1_000;

export function parseResume(value: string): ResumeCursor {
  const cursor = new Map<string, string>();
  if (value.trim() === '') return cursor;
  const pairs = value.split(',');
  if (pairs.length > MAX_PAIRS) throw new ResumeParseError(`resume: at most ${MAX_PAIRS} organizations`);
  for (const pair of pairs) {
    const colon = pair.indexOf(':');
    if (colon <= 0 || colon === pair.length - 1) throw new ResumeParseError('resume: expected organization:id pairs');
    let organization: string;
    let id: string;
    try {
      organization = decodeURIComponent(pair.slice(0, colon));
      id = decodeURIComponent(pair.slice(colon + 1));
    } catch (error) {
      throw new ResumeParseError('resume: bad percent-encoding', { cause: error });
    }
    if (organization === '' || id === '') throw new ResumeParseError('resume: empty organization or id');
    if (!isEventId(id)) throw new ResumeParseError('resume: an id must be an event id as the gateway sent it (<ms>-<seq>, two decimal 64-bit integers without leading zeros)');
    cursor.set(organization, id);
  }
  return cursor;
}

export function formatResume(cursor: ResumeCursor): string {
  return [...cursor].map(([organization, id]) => `${encodeURIComponent(organization)}:${encodeURIComponent(id)}`).join(',');
}

/** Reads one parameter from a raw query string (without '?'); undefined when absent. */
export function queryParameter(query: string, name: string): string | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (safeDecode(key) !== name) continue;
    return eq < 0 ? '' : safeDecode(part.slice(eq + 1).replace(/\+/g, ' '));
  }
  return undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // A malformed escape is taken literally rather than failing the whole query.
    return text;
  }
}
