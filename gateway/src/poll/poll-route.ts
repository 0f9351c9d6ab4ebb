import type { Logger } from 'pino';
import type { Admission, UpgradeRequest } from '../admission/admission.js';
import { admissionRequestOf } from '../admission/admission-request.js';
import { replyError, replyJson, type HttpExchange, type HttpRoute } from '../http/http-exchange.js';
import type { HistoryStore } from '../history/history-store.js';
import type { Principal } from '../auth/principal.js';
import { withGrantPositions } from '../membership/grant-cursor.js';
import type { MembershipStore } from '../membership/membership-store.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { formatResume, parseResume, ResumeParseError, type ResumeCursor } from '../protocol/resume.js';
import { frameOfEntry } from '../events/history-frame.js';
import type { OrganizationFeeds } from '../routing/organization-feeds.js';
import type { PollCors } from './poll-cors.js';
import { PollRequestError, readPollParameters } from './poll-request.js';
import { StoreUnavailableError } from '../stores/store-unavailable-error.js';

export interface PollOptions {
  readonly defaultTimeoutMs: number;
  readonly maxTimeoutMs: number;
  readonly maxEventsPerOrganization: number;
}

interface PollDeps {
  readonly admit: (request: UpgradeRequest) => Promise<Admission>;
  readonly history: HistoryStore;
  /** The organizations the principal's token grants now (membership changes applied): read after the history. */
  readonly currentOrganizations: (principal: Principal) => Promise<readonly string[]>;
  /** Where an organization the cursor lacks starts when the caller was added to it since its token. */
  readonly membership: Pick<MembershipStore, 'grantPositions'>;
  readonly feeds: OrganizationFeeds;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly options: PollOptions;
  readonly isDraining: () => boolean;
  readonly cors: PollCors;
}

interface PollResult {
  /** Per organization, the frames read, oldest first (an organization without new events has none). */
  readonly frames: Map<string, string[]>;
  readonly count: number;
  readonly cursor: Map<string, string>;
  readonly recovered: Record<string, boolean>;
}

/**
 * `GET /api/poll` (and `POST /api/poll` with the parameters in a JSON body, for long cursors): the
 * long-polling fallback. Stateless on the server: the cursor travels with the client and the
 * history lives in the shared store, so any pod can answer any poll.
 */
export function createPollRoutes(deps: PollDeps): HttpRoute[] {
  const handle = (exchange: HttpExchange): void => {
    const cors = deps.cors.headers(exchange.header('origin'));
    poll(exchange, cors, deps).catch((error: unknown) => {
      if (error instanceof StoreUnavailableError) {
        deps.metrics.pollRequests.inc({ result: 'refused' });
        deps.logger.warn({ err: error }, 'a poll could not read the shared state; answered 503');
        replyError(exchange, 503, 'unavailable', 'the gateway\'s shared state is unavailable; retry', { ...cors, 'retry-after': '1' });
        return;
      }
      deps.logger.error({ err: error }, 'poll failed');
      replyError(exchange, 500, 'internal', 'poll failed', cors);
    });
  };
  return [{ method: 'get', pattern: '/api/poll', handle }, { method: 'post', pattern: '/api/poll', handle }];
}

/** `cors`: headers every answer carries (see PollCors). */
async function poll(exchange: HttpExchange, cors: Record<string, string>, deps: PollDeps): Promise<void> {
  const { options } = deps;
  let parameters;
  try {
    parameters = await readPollParameters(exchange);
  } catch (error) {
    if (!(error instanceof PollRequestError)) throw error;
    replyError(exchange, error.status, 'invalid_request', error.message, cors);
    return;
  }
  if (parameters === undefined) return;
  const { resume: resumeText, timeoutText } = parameters;
  const timeoutMs = timeoutText === undefined ? options.defaultTimeoutMs : Number(timeoutText);
  if (!/^(0|[1-9][0-9]*)$/.test(timeoutText ?? '0') || timeoutMs > options.maxTimeoutMs) {
    replyError(exchange, 400, 'invalid_request', `timeout_ms must be an integer between 0 and ${options.maxTimeoutMs}`, cors);
    return;
  }
  let resume: ResumeCursor;
  try {
    resume = parseResume(resumeText ?? '');
  } catch (error) {
    if (!(error instanceof ResumeParseError)) throw error;
    replyError(exchange, 400, 'invalid_request', error.message, cors);
    return;
  }
  const admission = await deps.admit(admissionRequestOf(exchange));
  if (!admission.ok) {
    deps.metrics.pollRequests.inc({ result: 'refused' });
    replyError(exchange, admission.status, admission.error, admission.message, admission.status === 503 || admission.status === 429 ? { ...cors, 'retry-after': '1' } : cors);
    return;
  }
  const organizations = admission.organizations;
  let result = await read(organizations, await withGrantPositions(resume, organizations, admission.principal, deps.membership), deps);
  // First call (no cursor) returns at once with the cursor at the end of every history.
  if (result.count === 0 && resumeText !== undefined && timeoutMs > 0 && organizations.length > 0 && !exchange.aborted) {
    // Interest is held whatever the binding's outcome (a failed bind keeps it too): released below, always.
    const acquired = await Promise.allSettled(organizations.map((org) => deps.feeds.acquire(org)));
    try {
      if (acquired.some((outcome) => outcome.status === 'rejected')) deps.logger.warn('a long poll could not bind an organization; it answers from history only');
      // Events sequenced between the read and the binding are in history: read again before waiting.
      result = await read(organizations, result.cursor, deps);
      if (result.count === 0 && !deps.isDraining()) {
        // A poller that goes away ends the wait: its interest is released now, not at the timeout.
        const gone = new AbortController();
        exchange.onAbort(() => gone.abort());
        await deps.feeds.waitForAny(organizations, timeoutMs, gone.signal);
        if (exchange.aborted) return;
        result = await read(organizations, result.cursor, deps);
      }
    } finally {
      for (const org of organizations) deps.feeds.release(org);
    }
  }
  const revoked = result.count === 0 ? [] : await revokedSinceAdmission(admission.principal, organizations, deps);
  const frames: string[] = [];
  for (const [org, orgFrames] of result.frames) if (!revoked.includes(org)) frames.push(...orgFrames);
  for (const org of revoked) {
    result.cursor.delete(org);
    delete result.recovered[org];
  }
  deps.metrics.pollRequests.inc({ result: frames.length > 0 ? 'events' : 'empty' });
  const revokedField = revoked.length === 0 ? '' : `,"revoked":${JSON.stringify(revoked)}`;
  replyJson(exchange, 200, `{"events":[${frames.join(',')}],"resume":${JSON.stringify(formatResume(result.cursor))},"recovered":${JSON.stringify(result.recovered)}${revokedField}}`, cors);
}

/**
 * The admitted organizations the caller has been removed from since its admission. A removal is
 * recorded before any event sequenced after it, so a read of the membership after the history read
 * sees every removal that an event read could follow: those organizations' events are left out.
 */
async function revokedSinceAdmission(principal: Principal, admitted: readonly string[], deps: PollDeps): Promise<string[]> {
  const current = new Set(await deps.currentOrganizations(principal));
  return admitted.filter((org) => !current.has(org));
}

/** Events after the cursor for every organization; organizations without a cursor start at their end. */
async function read(organizations: readonly string[], resume: ResumeCursor, deps: PollDeps): Promise<PollResult> {
  const frames = new Map<string, string[]>();
  let count = 0;
  const cursor = new Map<string, string>();
  const recovered: Record<string, boolean> = {};
  const reads = await Promise.all(organizations.map(async (org) => {
    const after = resume.get(org);
    if (after === undefined) return { org, start: await deps.history.lastId(org), read: undefined };
    return { org, start: after, read: await deps.history.readAfter(org, after, deps.options.maxEventsPerOrganization) };
  }));
  for (const { org, start, read: result } of reads) {
    let last = start;
    if (result !== undefined) {
      recovered[org] = result.complete;
      if (result.entries.length > 0) {
        frames.set(org, result.entries.map((entry) => frameOfEntry(org, entry).frame));
        count += result.entries.length;
        last = result.entries[result.entries.length - 1]!.id;
      }
    }
    cursor.set(org, last);
  }
  return { frames, count, cursor, recovered };
}
