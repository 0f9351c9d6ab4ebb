/** The latest membership change heard for one (user, organization) pair. */
export interface MembershipRecord {
  readonly organizationId: string;
  readonly added: boolean;
  readonly atMs: number;
  /** An addition's position in the organization's sequence (its last event id when it was sequenced). */
  readonly position?: string | undefined;
}

/**
 * The positions of the additions that apply to a token (same rules as applyMembershipRecords): a
 * member added after the token was issued receives the events after this position.
 */
export function grantPositionsOf(records: Iterable<MembershipRecord>, issuedAtMs: number | undefined, notBeforeMs: number): Map<string, string> {
  const positions = new Map<string, string>();
  for (const record of records) {
    if (!record.added || record.position === undefined || record.atMs < notBeforeMs) continue;
    if (issuedAtMs !== undefined && issuedAtMs > record.atMs) continue;
    positions.set(record.organizationId, record.position);
  }
  return positions;
}

/**
 * The organizations a token grants once the recorded changes are applied (see MembershipStore):
 * claims keep their order, minus the removed ones; additions the token lacks are appended, oldest
 * change first. Records older than `notBeforeMs` have expired and are ignored; so are records that
 * the token is newer than (`issuedAtMs` > `atMs`).
 */
export function applyMembershipRecords(
  claimed: readonly string[],
  records: Iterable<MembershipRecord>,
  issuedAtMs: number | undefined,
  notBeforeMs: number,
): string[] {
  const removed = new Set<string>();
  const added: MembershipRecord[] = [];
  for (const record of records) {
    if (record.atMs < notBeforeMs) continue;
    if (issuedAtMs !== undefined && issuedAtMs > record.atMs) continue;
    if (record.added) added.push(record);
    else removed.add(record.organizationId);
  }
  const result: string[] = [];
  const seen = new Set<string>();
  for (const organization of claimed) {
    if (removed.has(organization) || seen.has(organization)) continue;
    seen.add(organization);
    result.push(organization);
  }
  added.sort((a, b) => a.atMs - b.atMs || (a.organizationId < b.organizationId ? -1 : a.organizationId > b.organizationId ? 1 : 0));
  for (const { organizationId } of added) {
    if (seen.has(organizationId)) continue;
    seen.add(organizationId);
    result.push(organizationId);
  }
  return result;
}

/** Throws before any I/O when a store is given a nonsensical change time or TTL. */
export function assertChangeTime(atMs: number): void {
  if (!Number.isFinite(atMs)) throw new RangeError(`membership change time must be a finite number of ms (got ${atMs})`);
}

export function assertTtlSeconds(ttlSeconds: number): void {
  if (!(Number.isInteger(ttlSeconds) && ttlSeconds >= 1)) throw new RangeError(`membership ttlSeconds must be a positive integer (got ${ttlSeconds})`);
}
