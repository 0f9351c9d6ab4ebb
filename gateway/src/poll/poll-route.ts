import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { Admission, UpgradeRequest } from '../admission/admission.js';
import type { HistoryStore } from '../history/history-store.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { formatResume, parseResume, queryParameter, ResumeParseError, type ResumeCursor } from '../protocol/resume.js';
import { taskFrameJson } from '../protocol/task-frame.js';
import type { OrganizationFeeds } from '../routing/organization-feeds.js';
import { DeferredResponse } from '../transport/http-reply.js';
import type { PublicRoute } from '../transport/public-server.js';
import type { PollCors } from './poll-cors.js';

export interface PollOptions {
  readonly defaultTimeoutMs: number;
  readonly maxTimeoutMs: number;
  readonly maxEventsPerOrganization: number;
}

interface PollDeps {
  readonly admit: (request: UpgradeRequest) => Promise<Admission>;
  readonly history: HistoryStore;
  readonly feeds: OrganizationFeeds;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly options: PollOptions;
  readonly isDraining: () => boolean;
  readonly cors: PollCors;
}

interface PollResult {
  readonly frames: string[];
  readonly cursor: Map<string, string>;
  readonly recovered: Record<string, boolean>;
}

/**
 * `GET /api/poll`: the long-polling fallback. Stateless on the server: the cursor travels with the
 * client and the history lives in the shared store, so any pod can answer any poll.
 */
export function createPollRoute(deps: PollDeps): PublicRoute {
  return {
    method: 'get',
    pattern: '/api/poll',
    handle: (res: HttpResponse, req: HttpRequest) => {
      const query = req.getQuery() ?? '';
      const request: UpgradeRequest = {
        remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
        forwardedFor: req.getHeader('x-forwarded-for') || undefined,
        origin: req.getHeader('origin') || undefined,
        authorization: req.getHeader('authorization'),
        query,
      };
      const deferred = new DeferredResponse(res);
      const cors = deps.cors.headers(request.origin);
      poll(deferred, request, query, cors, deps).catch((error: unknown) => {
        deps.logger.error({ err: error }, 'poll failed');
        deferred.error(500, 'internal', 'poll failed', cors);
      });
    },
  };
}

/** `cors`: headers every answer carries (see PollCors). */
async function poll(deferred: DeferredResponse, request: UpgradeRequest, query: string, cors: Record<string, string>, deps: PollDeps): Promise<void> {
  const { options } = deps;
  const timeoutText = queryParameter(query, 'timeout_ms');
  const timeoutMs = timeoutText === undefined ? options.defaultTimeoutMs : Number(timeoutText);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > options.maxTimeoutMs) {
    deferred.error(400, 'invalid_request', `timeout_ms must be an integer between 0 and ${options.maxTimeoutMs}`, cors);
    return;
  }
  const resumeText = queryParameter(query, 'resume');
  let resume: ResumeCursor;
  try {
    resume = parseResume(resumeText ?? '');
  } catch (error) {
    if (!(error instanceof ResumeParseError)) throw error;
    deferred.error(400, 'invalid_request', error.message, cors);
    return;
  }
  const admission = await deps.admit(request);
  if (!admission.ok) {
    deps.metrics.pollRequests.inc({ result: 'refused' });
    deferred.error(admission.status, admission.error, admission.message, admission.status === 503 || admission.status === 429 ? { ...cors, 'retry-after': '1' } : cors);
    return;
  }
  const organizations = admission.organizations;
  let result = await read(organizations, resume, deps);
  // First call (no cursor) returns at once with the cursor at the end of every history.
  if (result.frames.length === 0 && resumeText !== undefined && timeoutMs > 0 && organizations.length > 0 && !deferred.isAborted) {
    const acquired = await Promise.allSettled(organizations.map((org) => deps.feeds.acquire(org)));
    try {
      // Events sequenced between the read and the binding are in history: read again before waiting.
      result = await read(organizations, result.cursor, deps);
      if (result.frames.length === 0 && !deps.isDraining()) {
        await deps.feeds.waitForAny(organizations, timeoutMs);
        result = await read(organizations, result.cursor, deps);
      }
    } finally {
      organizations.forEach((org, i) => {
        if (acquired[i]!.status === 'fulfilled') deps.feeds.release(org);
      });
    }
  }
  deps.metrics.pollRequests.inc({ result: result.frames.length > 0 ? 'events' : 'empty' });
  const body = `{"events":[${result.frames.join(',')}],"resume":${JSON.stringify(formatResume(result.cursor))},"recovered":${JSON.stringify(result.recovered)}}`;
  deferred.write((r) => {
    r.writeStatus('200 OK');
    r.writeHeader('content-type', 'application/json');
    r.writeHeader('cache-control', 'no-store');
    for (const [name, value] of Object.entries(cors)) r.writeHeader(name, value);
    r.end(body);
  });
}

/** Events after the cursor for every organization; organizations without a cursor start at their end. */
async function read(organizations: readonly string[], resume: ResumeCursor, deps: PollDeps): Promise<PollResult> {
  const frames: string[] = [];
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
      for (const entry of result.entries) {
        frames.push(taskFrameJson(entry.eventType, entry.id, org, entry.dataJson, entry.timestampMs));
        last = entry.id;
      }
    }
    cursor.set(org, last);
  }
  return { frames, cursor, recovered };
}
