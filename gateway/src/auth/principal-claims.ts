import type { JWTPayload } from 'jose';
import { AuthError } from './auth-error.js';
import type { Principal } from './principal.js';
import { MAX_ORGANIZATION_ID_LENGTH } from '../protocol/frames.js';

/**
 * Builds the principal from a verified claims set (`exp` already checked by jose). `sub` must be a
 * non-empty string. Organizations come from `orgClaim`, falling back to `org_id` (or to `org_ids`
 * when `orgClaim` is `org_id`) when it is absent; either may be one string or an array of non-empty
 * strings. A present but wrongly typed claim is refused; no organizations at all is allowed.
 */
export function principalFromClaims(claims: JWTPayload, orgClaim: string): Principal {
  const { sub, exp, iat, scope } = claims;
  if (typeof sub !== 'string' || sub.length === 0) throw refuse('sub', 'a non-empty string');
  if (!isTimeSeconds(exp)) throw refuse('exp', `a number of seconds since the epoch, at most ${MAX_TIME_SECONDS}`);
  if (iat !== undefined && !isTimeSeconds(iat)) throw refuse('iat', `a number of seconds since the epoch, at most ${MAX_TIME_SECONDS}`);
  const fallback = orgClaim === 'org_id' ? 'org_ids' : 'org_id';
  const orgName = Object.hasOwn(claims, orgClaim) ? orgClaim : fallback;
  return {
    userId: sub,
    organizations: organizationList(Object.hasOwn(claims, orgName) ? claims[orgName] : undefined, orgName),
    issuedAtMs: iat === undefined ? undefined : iat * 1000,
    expiresAtMs: exp * 1000,
    scopes: typeof scope === 'string' ? unique(scope.split(/\s+/).filter((s) => s.length > 0)) : stringList(scope, 'scope'),
  };
}

/**
 * The latest time a JavaScript Date can hold (8.64e15 ms), in seconds. A claim beyond it could not
 * be formatted or compared as a date anywhere downstream: such a token is refused, not trusted.
 */
export const MAX_TIME_SECONDS = 8.64e12;

function isTimeSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_TIME_SECONDS;
}

/** Like stringList, each id at most MAX_ORGANIZATION_ID_LENGTH characters (what publishers may use). */
function organizationList(value: unknown, claim: string): readonly string[] {
  const organizations = stringList(value, claim);
  if (organizations.some((id) => id.length > MAX_ORGANIZATION_ID_LENGTH)) throw refuse(claim, `organization ids of at most ${MAX_ORGANIZATION_ID_LENGTH} characters`);
  return organizations;
}

/** Absent → []; one non-empty string or an array of them → deduplicated list; anything else → refused. */
function stringList(value: unknown, claim: string): readonly string[] {
  if (value === undefined) return [];
  const items: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (!items.every((item): item is string => typeof item === 'string' && item.length > 0)) {
    throw refuse(claim, 'a non-empty string or an array of them');
  }
  return unique(items);
}

function unique(items: readonly string[]): readonly string[] {
  return [...new Set(items)];
}

function refuse(claim: string, expected: string): AuthError {
  return new AuthError('claims', `claim "${claim}" must be ${expected}`);
}
