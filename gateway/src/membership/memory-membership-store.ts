import type { MembershipStore } from './membership-store.js';
import { applyMembershipRecords, assertChangeTime, assertTtlSeconds, grantPositionsOf, type MembershipRecord } from './membership-overrides.js';

export interface MemoryMembershipStoreOptions {
  /** How long a change matters: at least the longest token lifetime. */
  readonly ttlSeconds: number;
  /** Wall-clock milliseconds (change times come from publishers' clocks). */
  readonly now?: () => number;
}

interface UserRecords {
  writtenAtMs: number;
  readonly byOrganization: Map<string, MembershipRecord>;
}

/**
 * MembershipStore for a single pod (embedded mode and tests). Users are kept in a Map ordered by
 * their last write, so expired users are dropped from its front on every call: memory follows the
 * changes of the last TTL, with no timer. A change at the same millisecond as the recorded one
 * replaces it (arrival order breaks ties; publishers' timestamps may have only second resolution).
 */
export function createMemoryMembershipStore(options: MemoryMembershipStoreOptions): MembershipStore {
  assertTtlSeconds(options.ttlSeconds);
  const ttlMs = options.ttlSeconds * 1000;
  const now = options.now ?? Date.now;
  const users = new Map<string, UserRecords>();

  const expire = (t: number): void => {
    for (const [userId, user] of users) {
      if (user.writtenAtMs + ttlMs > t) break;
      users.delete(userId);
    }
  };

  const record = (organizationId: string, userId: string, added: boolean, atMs: number, position?: string): void => {
    assertChangeTime(atMs);
    const t = now();
    expire(t);
    const notBefore = t - ttlMs;
    if (atMs < notBefore) return;
    const user = users.get(userId) ?? { writtenAtMs: t, byOrganization: new Map<string, MembershipRecord>() };
    const current = user.byOrganization.get(organizationId);
    if (current !== undefined && current.atMs > atMs) return;
    user.byOrganization.set(organizationId, { organizationId, added, atMs, position });
    for (const [organization, existing] of user.byOrganization) {
      if (existing.atMs < notBefore) user.byOrganization.delete(organization);
    }
    user.writtenAtMs = t;
    users.delete(userId); // re-inserted last: the Map stays in write order
    users.set(userId, user);
  };

  return {
    async recordRemoved(organizationId, userId, atMs) {
      record(organizationId, userId, false, atMs);
    },
    async recordAdded(organizationId, userId, atMs, position) {
      record(organizationId, userId, true, atMs, position);
    },
    async effectiveOrganizations(userId, claimed, issuedAtMs) {
      const t = now();
      expire(t);
      const user = users.get(userId);
      if (user === undefined) return [...new Set(claimed)];
      return applyMembershipRecords(claimed, user.byOrganization.values(), issuedAtMs, t - ttlMs);
    },
    async grantPositions(userId, issuedAtMs) {
      const t = now();
      expire(t);
      const user = users.get(userId);
      return user === undefined ? new Map() : grantPositionsOf(user.byOrganization.values(), issuedAtMs, t - ttlMs);
    },
    async close() {
      users.clear();
    },
  };
}
