import type { HttpExchange } from '../http/http-exchange.js';
import { queryParameter } from '../protocol/resume.js';

/** Largest POST /api/poll body: a 1,000-pair cursor of long organization ids fits. */
export const MAX_POLL_BODY_BYTES = 1024 * 1024;

/** The parameters of a poll, from the query (GET) or a JSON body (POST). */
export interface PollParameters {
  /** The cursor text; undefined on a first poll. */
  readonly resume: string | undefined;
  /** undefined: the default. */
  readonly timeoutText: string | undefined;
}

export class PollRequestError extends Error {
  override readonly name = 'PollRequestError';
  constructor(readonly status: 400 | 413 | 415, message: string) {
    super(message);
  }
}

/**
 * Reads a poll's parameters. POST carries them as `{"resume": "…", "timeout_ms": 25000}` (both
 * optional), for cursors too long for a URL. Must be called during the route's synchronous handler
 * (the body is read from then on). Resolves undefined when the client went away; rejects with a
 * PollRequestError for a bad body.
 */
export async function readPollParameters(exchange: HttpExchange): Promise<PollParameters | undefined> {
  if (exchange.method.toUpperCase() !== 'POST') {
    return { resume: queryParameter(exchange.query, 'resume'), timeoutText: queryParameter(exchange.query, 'timeout_ms') };
  }
  const contentType = exchange.header('content-type') ?? '';
  const body = await exchange.body(MAX_POLL_BODY_BYTES);
  if (body === undefined) return undefined;
  if (body === 'too_large') throw new PollRequestError(413, `the body must be at most ${MAX_POLL_BODY_BYTES} bytes`);
  if (!/^application\/json\b/i.test(contentType)) throw new PollRequestError(415, 'send the poll parameters as Content-Type: application/json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new PollRequestError(400, 'the body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new PollRequestError(400, 'the body must be a JSON object');
  const { resume, timeout_ms: timeout } = parsed as Record<string, unknown>;
  if (resume !== undefined && typeof resume !== 'string') throw new PollRequestError(400, 'resume must be a string (the cursor as the last answer gave it)');
  if (timeout !== undefined && !(typeof timeout === 'number' && Number.isInteger(timeout))) throw new PollRequestError(400, 'timeout_ms must be an integer');
  return { resume, timeoutText: timeout === undefined ? undefined : String(timeout) };
}
