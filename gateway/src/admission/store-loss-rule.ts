import type { Principal } from '../auth/principal.js';

/** When the shared store lost its data, and until when that matters (see AdmissionDeps.storeLoss). */
export interface StoreLoss {
  readonly atMs: number;
  readonly untilMs: number;
}

/**
 * Revocations recorded before a loss of the store are gone: a token from before it could claim an
 * organization its user was removed from. Such tokens are refused until the revocation TTL has
 * passed; a fresh token (the issuer applies its own membership) is accepted.
 */
export function issuedBeforeLoss(principal: Principal, loss: StoreLoss | undefined, nowMs: number): boolean {
  return loss !== undefined && nowMs < loss.untilMs && (principal.issuedAtMs === undefined || principal.issuedAtMs < loss.atMs);
}
