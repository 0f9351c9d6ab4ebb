import type { Logger } from 'pino';
import type { Admission, UpgradeRequest } from '../admission/admission.js';
import type { HistoryStore } from '../history/history-store.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { parseResume, queryParameter, ResumeParseError, type ResumeCursor } from '../protocol/resume.js';
import type { ConnectDecision } from './connect-decision.js';
import { readCatchUp, stillCovered, type CatchUp } from './catch-up.js';
import type { ConnectionManager, FeedInterest } from './connection-manager.js';

/** The cluster-wide per-user connection count (absent on a single node: the local count suffices). */
export interface UserSlots {
  reserve(userId: string): Promise<boolean>;
  release(userId: string): void;
}

export interface ConnectFlowDeps {
  readonly admit: (request: UpgradeRequest, pending: number) => Promise<Admission>;
  readonly slots: UserSlots | undefined;
  readonly feeds: FeedInterest;
  readonly history: HistoryStore;
  readonly manager: ConnectionManager;
  readonly resumeMaxEvents: number;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
}

/**
 * Everything between an upgrade request and a live socket: admission, the cluster-wide user slot,
 * the organizations' feeds (bound before anything is read), and the history the client missed.
 * The decision's `open` then goes live synchronously; `cancel` undoes it all if the client left.
 */
export function createConnectFlow(deps: ConnectFlowDeps): (request: UpgradeRequest, pending: number) => Promise<ConnectDecision> {
  const { metrics } = deps;
  return async (request, pending) => {
    // RFC 6455 4.2.1: the handshake's Connection header lists Upgrade; anything else is refused
    // before anything is prepared.
    if (request.connection !== undefined && !listsToken(request.connection, 'upgrade')) {
      return { ok: false, status: 400, error: 'invalid_request', message: 'not a WebSocket handshake: the Connection header must list Upgrade' };
    }
    let resume: ResumeCursor;
    try {
      resume = parseResume(queryParameter(request.query, 'resume') ?? '');
    } catch (error) {
      if (!(error instanceof ResumeParseError)) throw error;
      return { ok: false, status: 400, error: 'invalid_request', message: error.message };
    }
    const admission = await deps.admit(request, pending);
    if (!admission.ok) return admission;
    const { principal, organizations } = admission;

    if (deps.slots !== undefined && !(await deps.slots.reserve(principal.userId))) {
      metrics.connectionsRefused.inc({ reason: 'user_limit' });
      return { ok: false, status: 429, error: 'too_many_connections', message: 'this user holds too many connections' };
    }
    const releaseSlot = (): void => deps.slots?.release(principal.userId);

    const acquired = await Promise.allSettled(organizations.map((org) => deps.feeds.acquire(org)));
    const releaseFeeds = (): void => organizations.forEach((org) => deps.feeds.release(org));
    const failed = acquired.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (failed !== undefined) {
      releaseFeeds();
      releaseSlot();
      deps.logger.warn({ err: failed.reason }, 'could not bind the organizations of a new connection');
      metrics.connectionsRefused.inc({ reason: 'at_capacity' });
      return { ok: false, status: 503, error: 'unavailable', message: 'the event feed is unavailable; retry' };
    }

    let catchUp: CatchUp;
    try {
      catchUp = await readCatchUp(organizations, resume, deps.history, deps.feeds, deps.resumeMaxEvents);
    } catch (error) {
      releaseFeeds();
      releaseSlot();
      throw error;
    }
    return {
      ok: true,
      open: (socket) => {
        // A burst may have pushed frames out of a buffer since the read: then the gap cannot be
        // bridged, and the client is told to refetch instead of silently missing events.
        const final = stillCovered(catchUp, deps.feeds) ? catchUp : withoutReplay(catchUp, deps.feeds);
        for (const recovered of Object.values(final.recovered)) metrics.resumes.inc({ recovered: String(recovered) });
        return deps.manager.open(socket, principal, organizations, final);
      },
      cancel: () => {
        releaseFeeds();
        releaseSlot();
      },
    };
  };
}

/** Nothing can be bridged: every organization starts live now, resumed ones flagged for a refetch. */
function withoutReplay(catchUp: CatchUp, feeds: FeedInterest): CatchUp {
  const recovered = Object.fromEntries(Object.keys(catchUp.recovered).map((org) => [org, false]));
  const startAfter = new Map([...catchUp.startAfter.keys()].map((org) => [org, newestBuffered(org, feeds)]));
  return { recovered, replay: new Map(), startAfter, cursor: startAfter, fastForward: new Map() };
}

function newestBuffered(org: string, feeds: FeedInterest): string {
  const { frames } = feeds.framesAfter(org, '0-0');
  return frames.length > 0 ? frames[frames.length - 1]!.id : '0-0';
}

/** Whether a comma-separated header value lists `token` (case-insensitive), as `Connection` does. */
function listsToken(value: string, token: string): boolean {
  return value.split(',').some((part) => part.trim().toLowerCase() === token);
}
