export class DuplicateConnectionError extends Error {
  override readonly name = 'DuplicateConnectionError';
  constructor(userId: string) {
    super(`connection of user ${JSON.stringify(userId)} is already registered`);
  }
}

interface Entry {
  readonly userId: string;
  readonly organizations: Set<string>;
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * Who is connected to this pod: connection → user and organizations, with the reverse indexes
 * user → connections and organization → connections. Pure bookkeeping, no I/O, generic over the
 * connection handle `C` (compared by identity). Empty index entries are deleted, so memory follows
 * the live connections only.
 *
 * Methods returning several connections return snapshots, safe to use while the registry changes
 * (e.g. closing every connection of a user). `all()` is a live iterator that avoids a copy of every
 * connection; removing connections while iterating it is safe (Map iteration semantics).
 */
export class ConnectionRegistry<C> {
  private readonly entries = new Map<C, Entry>();
  private readonly byUser = new Map<string, Set<C>>();
  private readonly byOrganization = new Map<string, Set<C>>();

  /** Open connections. */
  get size(): number {
    return this.entries.size;
  }

  /** Users with at least one open connection. */
  get userCount(): number {
    return this.byUser.size;
  }

  /** Organizations with at least one open connection. */
  get organizationCount(): number {
    return this.byOrganization.size;
  }

  /** Registers a connection. Throws DuplicateConnectionError if it is already registered. */
  add(conn: C, userId: string, organizations: Iterable<string>): void {
    if (this.entries.has(conn)) throw new DuplicateConnectionError(userId);
    const entry: Entry = { userId, organizations: new Set(organizations) };
    this.entries.set(conn, entry);
    addTo(this.byUser, userId, conn);
    for (const organization of entry.organizations) addTo(this.byOrganization, organization, conn);
  }

  /** Forgets a connection; false if it was not registered. */
  remove(conn: C): boolean {
    const entry = this.entries.get(conn);
    if (entry === undefined) return false;
    this.entries.delete(conn);
    removeFrom(this.byUser, entry.userId, conn);
    for (const organization of entry.organizations) removeFrom(this.byOrganization, organization, conn);
    return true;
  }

  has(conn: C): boolean {
    return this.entries.has(conn);
  }

  userOf(conn: C): string | undefined {
    return this.entries.get(conn)?.userId;
  }

  /** The organizations a connection currently receives (a copy, in grant order); empty if unknown. */
  organizationsOf(conn: C): string[] {
    const entry = this.entries.get(conn);
    return entry === undefined ? [] : [...entry.organizations];
  }

  /** Whether `conn` currently receives events of `organization`. */
  receives(conn: C, organization: string): boolean {
    return this.entries.get(conn)?.organizations.has(organization) ?? false;
  }

  /** Adds an organization to a connection; true only if that changed something. */
  grant(conn: C, organization: string): boolean {
    const entry = this.entries.get(conn);
    if (entry === undefined || entry.organizations.has(organization)) return false;
    entry.organizations.add(organization);
    addTo(this.byOrganization, organization, conn);
    return true;
  }

  /** Removes an organization from a connection; true only if that changed something. */
  revoke(conn: C, organization: string): boolean {
    const entry = this.entries.get(conn);
    if (entry === undefined || !entry.organizations.delete(organization)) return false;
    removeFrom(this.byOrganization, organization, conn);
    return true;
  }

  /** A snapshot of the user's connections (empty if none). */
  connectionsOfUser(userId: string): readonly C[] {
    const set = this.byUser.get(userId);
    return set === undefined ? NONE : [...set];
  }

  /** A snapshot of the connections receiving `organization` (empty if none). */
  connectionsOfOrganization(organization: string): readonly C[] {
    const set = this.byOrganization.get(organization);
    return set === undefined ? NONE : [...set];
  }

  countForUser(userId: string): number {
    return this.byUser.get(userId)?.size ?? 0;
  }

  countForOrganization(organization: string): number {
    return this.byOrganization.get(organization)?.size ?? 0;
  }

  /** Every registered connection, live (see the class comment). */
  all(): IterableIterator<C> {
    return this.entries.keys();
  }

  /** Organizations with at least one connection on this pod (e.g. to decide broker bindings). */
  organizations(): IterableIterator<string> {
    return this.byOrganization.keys();
  }
}

function addTo<K, C>(index: Map<K, Set<C>>, key: K, conn: C): void {
  const set = index.get(key);
  if (set === undefined) index.set(key, new Set([conn]));
  else set.add(conn);
}

function removeFrom<K, C>(index: Map<K, Set<C>>, key: K, conn: C): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(conn);
  if (set.size === 0) index.delete(key);
}
