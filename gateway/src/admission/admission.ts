import type { Logger } from 'pino';
import { AuthError } from '../auth/auth-error.js';
import { extractToken } from '../auth/extract-token.js';
import type { Principal, TokenVerifier } from '../auth/principal.js';
import type { MembershipStore } from '../membership/membership-store.js';
import type { GatewayMetrics, RefusalReason } from '../metrics/metrics.js';
import { StoreUnavailableError } from '../stores/store-unavailable-error.js';
import { issuedBeforeLoss, type StoreLoss } from './store-loss-rule.js';

/** Everything the upgrade decision needs, read synchronously from the HTTP request. */
export interface UpgradeRequest {
  readonly remoteAddress: string;
  readonly forwardedFor: string | undefined;
  readonly origin: string | undefined;
  readonly authorization: string;
  readonly query: string;
}

export type Admission =
  | { readonly ok: true; readonly principal: Principal; readonly organizations: string[]; readonly clientAddress: string }
  | { readonly ok: false; readonly status: 401 | 403 | 429 | 503; readonly error: string; readonly message: string; readonly reason: RefusalReason };

export interface AdmissionDeps {
  readonly verifier: TokenVerifier;
  readonly membership: MembershipStore;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly allowedOrigins: readonly string[] | undefined;
  readonly maxConnections: number;
  readonly resolveClientAddress: (remoteAddress: string, forwardedFor: string | undefined) => string;
  readonly allowConnect: (clientAddress: string) => boolean;
  /**
   * When the shared store was seen to lose its data (and the revocations it held), until when that
   * matters (the revocation TTL after it); undefined when no loss was seen.
   */
  readonly storeLoss: () => StoreLoss | undefined;
  readonly now?: () => number;
  /** Live state of the pod, read at decision time. */
  readonly state: {
    isDraining(): boolean;
    connectionCount(): number;
  };
}

/** A WebSocket upgrade holds a socket; a poll does not (the connection limit does not apply to it). */
export type AdmissionKind = 'socket' | 'poll';

/**
 * The checks in front of every WebSocket upgrade (and every poll), cheapest first: pod state,
 * per-address rate, origin, token, membership overrides. The per-user limit is the connect flow's
 * slot reservation (atomic across pods), its only check.
 */
export function createAdmission(deps: AdmissionDeps): (request: UpgradeRequest, pending: number, kind?: AdmissionKind) => Promise<Admission> {
  // `pending` counts the upgrades in flight, this one included.
  const origins = deps.allowedOrigins === undefined ? undefined : new Set(deps.allowedOrigins);
  const refuse = (status: 401 | 403 | 429 | 503, error: string, message: string, reason: RefusalReason): Admission => {
    deps.metrics.connectionsRefused.inc({ reason });
    return { ok: false, status, error, message, reason };
  };

  return async (request, pending, kind = 'socket') => {
    if (deps.state.isDraining()) return refuse(503, 'draining', 'this pod is shutting down; retry', 'draining');
    if (kind === 'socket' && deps.state.connectionCount() + pending > deps.maxConnections) {
      return refuse(503, 'at_capacity', 'this pod is at its connection limit; retry', 'at_capacity');
    }
    const clientAddress = deps.resolveClientAddress(request.remoteAddress, request.forwardedFor);
    if (!deps.allowConnect(clientAddress)) return refuse(429, 'rate_limited', 'too many connection attempts; retry later', 'rate_limited');
    if (origins !== undefined && (request.origin === undefined || !origins.has(request.origin))) {
      return refuse(403, 'forbidden_origin', 'origin not allowed', 'forbidden_origin');
    }
    const token = extractToken(request.authorization, request.query);
    if (token === undefined) {
      deps.metrics.authFailures.inc({ reason: 'missing' });
      return refuse(401, 'unauthorized', 'missing token: send Authorization: Bearer <jwt> or ?access_token=<jwt>', 'unauthorized');
    }
    let principal: Principal;
    try {
      principal = await deps.verifier.verify(token);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      deps.metrics.authFailures.inc({ reason: error.reason });
      const status = error.reason === 'key_unavailable' ? 503 : 401;
      return refuse(status, status === 503 ? 'auth_unavailable' : 'unauthorized', error.message, status === 503 ? 'auth_unavailable' : 'unauthorized');
    }
    if (issuedBeforeLoss(principal, deps.storeLoss(), (deps.now ?? Date.now)())) {
      deps.metrics.authFailures.inc({ reason: 'stale' });
      return refuse(401, 'unauthorized', 'the token was issued before the gateway\'s shared state was lost; get a fresh token', 'unauthorized');
    }
    let organizations: string[];
    try {
      organizations = await deps.membership.effectiveOrganizations(principal.userId, principal.organizations, principal.issuedAtMs);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return refuse(503, 'unavailable', 'the gateway\'s shared state is unavailable; retry', 'store_unavailable');
    }
    return { ok: true, principal, organizations, clientAddress };
  };
}
