import type { Logger } from 'pino';
import type { Admission, UpgradeRequest } from '../admission/admission.js';
import { frameOfEntry } from '../events/history-frame.js';
import type { HistoryStore } from '../history/history-store.js';
import { withGrantPositions } from '../membership/grant-cursor.js';
import type { MembershipStore } from '../membership/membership-store.js';
import { StoreUnavailableError } from '../stores/store-unavailable-error.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { parseResume, queryParameter, ResumeParseError, type ResumeCursor } from '../protocol/resume.js';
import type { ConnectDecision } from './connect-decision.js';
import type { ConnectionManager, FeedInterest, OrganizationStart } from './connection-manager.js';

/** The cluster-wide per-user connection count: the one per-user limit (atomic across pods). */
export interface UserSlots {
  reserve(userId: string): Promise<boolean>;
  release(userId: string): void;
}

export interface ConnectFlowDeps {
  readonly admit: (request: UpgradeRequest, pending: number) => Promise<Admission>;
  readonly slots: UserSlots;
  readonly feeds: FeedInterest & { lastDelivered(organizationId: string): string | undefined };
  readonly history: Pick<HistoryStore, 'readAfter' | 'lastId'>;
  /** Where an organization the client's cursor lacks starts when the caller was added to it since its token. */
  readonly membership: Pick<MembershipStore, 'grantPositions'>;
  readonly manager: ConnectionManager;
  readonly resumeMaxEvents: number;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
}

/**
 * Everything between an upgrade request and a live socket: admission, the user's slot, the
 * organizations' feeds (bound before anything is read), where each organization starts and, for
 * resumed ones, the history the client missed (at most RESUME_MAX_EVENTS; beyond, or when the
 * history no longer reaches back, `recovered: false` and the organization starts live). The
 * decision's `open` then goes live; `cancel` undoes it all if the client left.
 */
export function createConnectFlow(deps: ConnectFlowDeps): (request: UpgradeRequest, pending: number) => Promise<ConnectDecision> {
  const { metrics } = deps;
  const storeUnavailable = (): ConnectDecision => {
    metrics.connectionsRefused.inc({ reason: 'store_unavailable' });
    return { ok: false, status: 503, error: 'unavailable', message: 'the gateway\'s shared state is unavailable; retry' };
  };
  return async (request, pending) => {
    let resume: ResumeCursor;
    try {
      resume = parseResume(queryParameter(request.query, 'resume') ?? '');
    } catch (error) {
      if (!(error instanceof ResumeParseError)) throw error;
      return { ok: false, status: 400, error: 'invalid_request', message: error.message };
    }
    const changesSeen = deps.manager.changeSequence();
    const admission = await deps.admit(request, pending);
    if (!admission.ok) return admission;
    const { principal, organizations } = admission;
    let reserved: boolean;
    try {
      reserved = await deps.slots.reserve(principal.userId);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return storeUnavailable();
    }
    if (!reserved) {
      metrics.connectionsRefused.inc({ reason: 'user_limit' });
      return { ok: false, status: 429, error: 'too_many_connections', message: 'this user holds too many connections' };
    }
    const releaseSlot = (): void => deps.slots.release(principal.userId);
    // Interest is held whatever a binding's outcome: every one is released below on failure.
    const acquired = await Promise.allSettled(organizations.map((org) => deps.feeds.acquire(org)));
    const releaseFeeds = (): void => organizations.forEach((org) => deps.feeds.release(org));
    const failed = acquired.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (failed !== undefined) {
      releaseFeeds();
      releaseSlot();
      deps.logger.warn({ err: failed.reason }, 'could not bind the organizations of a new connection');
      metrics.connectionsRefused.inc({ reason: 'feed_unavailable' });
      return { ok: false, status: 503, error: 'unavailable', message: 'the event feed is unavailable; retry' };
    }
    const recovered: Record<string, boolean> = {};
    const starts = new Map<string, OrganizationStart>();
    try {
      resume = await withGrantPositions(resume, organizations, principal, deps.membership);
      await Promise.all(organizations.map(async (org) => {
        const from = resume.get(org);
        if (from !== undefined) {
          const page = await deps.history.readAfter(org, from, deps.resumeMaxEvents);
          recovered[org] = page.complete && !page.more;
          metrics.resumes.inc({ recovered: String(recovered[org]) });
          if (recovered[org]) {
            starts.set(org, { position: from, replay: page.entries.map((entry) => frameOfEntry(org, entry)) });
            return;
          }
        }
        // Live from now on: where this pod's feed stands, or the end of the history.
        starts.set(org, { position: deps.feeds.lastDelivered(org) ?? await deps.history.lastId(org), replay: [] });
      }));
    } catch (error) {
      releaseFeeds();
      releaseSlot();
      if (error instanceof StoreUnavailableError) return storeUnavailable();
      throw error;
    }
    return {
      ok: true,
      open: (socket) => deps.manager.open(socket, principal, organizations, { recovered, starts, changesSeen }),
      cancel: () => {
        releaseFeeds();
        releaseSlot();
      },
    };
  };
}
