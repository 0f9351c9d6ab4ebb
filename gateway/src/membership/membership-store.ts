/**
 * Membership changes heard after tokens were issued. A token's organization claims are the
 * baseline; a change recorded at time T overrides the claim for tokens issued at or before T:
 *  - removed at T: a token issued at or before T no longer grants the organization;
 *  - added at T: the organization is granted even if a token issued at or before T lacks it.
 * A token issued after T is authoritative again. Records expire after the configured TTL, which
 * must be at least the longest token lifetime. Per (organization, user) pair only the latest change
 * counts; a change with the same time as the recorded one replaces it (arrival order breaks ties,
 * since publishers' timestamps may have only second resolution).
 */
export interface MembershipStore {
  /** Records a removal at `atMs` (replaces an older record of the same pair; ignores an older change). */
  recordRemoved(organizationId: string, userId: string, atMs: number): Promise<void>;
  /**
   * Records an addition at `atMs` (same ordering rules), with its position in the organization's
   * sequence when known: the member receives the events after it.
   */
  recordAdded(organizationId: string, userId: string, atMs: number, position?: string): Promise<void>;
  /**
   * The organizations a token grants: its claims with the overrides above applied.
   * `issuedAtMs` undefined means "issued at the beginning of time" (every change applies).
   */
  effectiveOrganizations(userId: string, claimed: readonly string[], issuedAtMs: number | undefined): Promise<string[]>;
  /**
   * For the additions that apply to a token issued at `issuedAtMs` (as above), their recorded
   * positions: where a client whose cursor predates the addition starts the organization.
   */
  grantPositions(userId: string, issuedAtMs: number | undefined): Promise<ReadonlyMap<string, string>>;
  close(): Promise<void>;
}
