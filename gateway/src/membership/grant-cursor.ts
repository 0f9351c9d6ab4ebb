import type { Principal } from '../auth/principal.js';
import type { ResumeCursor } from '../protocol/resume.js';
import type { MembershipStore } from './membership-store.js';

/**
 * The client's cursor, completed with where each organization it lacks starts when the caller was
 * added to it after its token was issued: at the addition's position, so a client that was away
 * when it was added (no live connection heard the grant) still receives every event after it. A
 * client without any cursor is new: its organizations start at their end, and nothing is read.
 */
export async function withGrantPositions(
  resume: ResumeCursor,
  organizations: readonly string[],
  principal: Principal,
  membership: Pick<MembershipStore, 'grantPositions'>,
): Promise<ResumeCursor> {
  if (resume.size === 0 || organizations.every((org) => resume.has(org))) return resume;
  const positions = await membership.grantPositions(principal.userId, principal.issuedAtMs);
  let completed: Map<string, string> | undefined;
  for (const org of organizations) {
    const position = positions.get(org);
    if (resume.has(org) || position === undefined) continue;
    completed ??= new Map(resume);
    completed.set(org, position);
  }
  return completed ?? resume;
}
