import { AuthError } from '../auth/auth-error.js';
import type { Principal, TokenVerifier } from '../auth/principal.js';
import { issuedBeforeLoss, type StoreLoss } from '../admission/store-loss-rule.js';
import type { MembershipStore } from '../membership/membership-store.js';
import { StoreUnavailableError } from '../stores/store-unavailable-error.js';

/** Longest lead before `exp` at which clients are asked to refresh. */
const MAX_REFRESH_LEAD_MS = 30_000;

export interface TokenRefreshDeps {
  readonly verifier: TokenVerifier;
  readonly membership: Pick<MembershipStore, 'effectiveOrganizations'>;
  readonly storeLoss: () => StoreLoss | undefined;
  readonly now?: () => number;
}

export type RefreshCheck =
  | { readonly ok: true; readonly principal: Principal; readonly organizations: readonly string[] }
  | { readonly ok: false; readonly message: string };

/** Checks a token sent with `auth.refresh` on a live connection of `userId`. */
export type TokenRefresher = (userId: string, token: string) => Promise<RefreshCheck>;

/**
 * The rules a connect applies to its token, applied to a refresh: a valid signature and claims,
 * the same user (`sub`), not issued before a loss of the shared state (while that matters), and
 * the organizations it grants once the membership changes are applied. Never throws for a bad
 * token or an unavailable store: the answer says why.
 */
export function createTokenRefresher(deps: TokenRefreshDeps): TokenRefresher {
  const now = deps.now ?? Date.now;
  return async (userId, token) => {
    let principal: Principal;
    try {
      principal = await deps.verifier.verify(token);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      return { ok: false, message: error.message };
    }
    if (principal.userId !== userId) return { ok: false, message: 'the new token is for another user (sub); reconnect to change user' };
    if (issuedBeforeLoss(principal, deps.storeLoss(), now())) {
      return { ok: false, message: 'the token was issued before the gateway\'s shared state was lost; get a fresh token' };
    }
    try {
      return { ok: true, principal, organizations: await deps.membership.effectiveOrganizations(principal.userId, principal.organizations, principal.issuedAtMs) };
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return { ok: false, message: 'the gateway\'s shared state is unavailable; retry' };
    }
  };
}

/**
 * When a client should refresh a token that expires at `expiresAtMs`: half-way through what is
 * left, at most 30 s before `exp` (0: now).
 */
export function refreshInMs(expiresAtMs: number, nowMs: number): number {
  const left = expiresAtMs - nowMs;
  if (left <= 0) return 0;
  return Math.floor(left - Math.min(MAX_REFRESH_LEAD_MS, left / 2));
}
