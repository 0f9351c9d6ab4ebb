import { PollError, ProtocolError } from '../errors.js';
import type { PollResponse } from '../protocol/frames.js';
import { parsePollResponse } from '../protocol/parse-frame.js';
import { withQuery } from './endpoints.js';
import type { FetchLike } from './websocket-like.js';

export interface PollRequest {
  readonly fetch: FetchLike;
  /** `…/api/poll` without query. */
  readonly endpoint: string;
  readonly token: string;
  /** The `affinity` query parameter (the load balancer's stickiness key). */
  readonly affinity?: string | undefined;
  /** The cursor: undefined on the very first call. */
  readonly resume: string | undefined;
  /** How long the server may hold the request when there is nothing new. */
  readonly timeoutMs: number;
  /** Extra time on top of `timeoutMs` before the client gives up on the request. */
  readonly graceMs: number;
  readonly signal: AbortSignal;
}

/**
 * One `GET /api/poll`: the token in the Authorization header, the cursor in `resume`. Resolves with
 * the validated answer; rejects with PollError (network, timeout, HTTP refusal) or ProtocolError.
 * Rejects with the signal's reason when aborted.
 */
export async function poll(request: PollRequest): Promise<PollResponse> {
  const url = withQuery(request.endpoint, { affinity: request.affinity, resume: request.resume, timeout_ms: String(request.timeoutMs) });
  const deadline = new AbortController();
  const onAbort = (): void => deadline.abort(request.signal.reason);
  if (request.signal.aborted) onAbort();
  else request.signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => deadline.abort(new PollError(`no answer within ${request.timeoutMs + request.graceMs} ms`, undefined, undefined)), request.timeoutMs + request.graceMs);
  try {
    let response;
    try {
      response = await request.fetch(url, { method: 'GET', headers: { authorization: `Bearer ${request.token}`, accept: 'application/json' }, signal: deadline.signal });
    } catch (error) {
      if (request.signal.aborted) throw request.signal.reason;
      if (deadline.signal.aborted && deadline.signal.reason instanceof PollError) throw deadline.signal.reason;
      throw new PollError('poll request failed', undefined, undefined, { cause: error });
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      if (request.signal.aborted) throw request.signal.reason;
      if (response.status !== 200) throw refusal(response.status, undefined, response.headers.get('retry-after'));
      throw new ProtocolError('poll response is not JSON', { cause: error });
    }
    if (response.status !== 200) {
      const code = typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error : undefined;
      throw refusal(response.status, code, response.headers.get('retry-after'));
    }
    return parsePollResponse(body);
  } finally {
    clearTimeout(timer);
    request.signal.removeEventListener('abort', onAbort);
  }
}

function refusal(status: number, code: string | undefined, retryAfter: string | null): PollError {
  const seconds = retryAfter === null || retryAfter.trim() === '' ? Number.NaN : Number(retryAfter);
  const retryAfterMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1_000 : undefined;
  return new PollError(`poll refused with HTTP ${status}${code === undefined ? '' : ` (${code})`}`, status, code, { retryAfterMs });
}
