/**
 * Who belongs to which organization in a run. Users are 0..users-1; memberships come in
 * `orgsPerUser` layers: in layer k every user belongs to exactly one organization of that layer,
 * organizations hold `membersPerOrg` users (the last one of a layer may hold fewer), and each layer
 * is shifted so that two users share at most a few organizations. Organization indexes are global
 * (layer-major), so an event's organization index tells the client which of its layers it hits.
 */
export interface OrgLayoutOptions {
  readonly users: number;
  readonly membersPerOrg: number;
  readonly orgsPerUser: number;
  /** Prefix of organization ids, unique per run so runs never see each other's events. */
  readonly prefix: string;
}

export class OrgLayoutError extends Error {
  override readonly name = 'OrgLayoutError';
}

export class OrgLayout {
  readonly users: number;
  readonly membersPerOrg: number;
  readonly orgsPerUser: number;
  readonly orgsPerLayer: number;
  readonly prefix: string;

  constructor(options: OrgLayoutOptions) {
    const { users, membersPerOrg, orgsPerUser, prefix } = options;
    if (!(Number.isInteger(users) && users > 0)) throw new OrgLayoutError('users must be a positive integer');
    if (!(Number.isInteger(membersPerOrg) && membersPerOrg > 0)) throw new OrgLayoutError('membersPerOrg must be a positive integer');
    if (membersPerOrg > users) throw new OrgLayoutError(`membersPerOrg (${membersPerOrg}) exceeds users (${users})`);
    if (!(Number.isInteger(orgsPerUser) && orgsPerUser > 0 && orgsPerUser <= 64)) throw new OrgLayoutError('orgsPerUser must be an integer in 1..64');
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(prefix)) throw new OrgLayoutError('prefix must be 1-64 of [A-Za-z0-9._-]');
    this.users = users;
    this.membersPerOrg = membersPerOrg;
    this.orgsPerUser = orgsPerUser;
    this.orgsPerLayer = Math.ceil(users / membersPerOrg);
    this.prefix = prefix;
  }

  get organizationCount(): number {
    return this.orgsPerLayer * this.orgsPerUser;
  }

  /** Global index of user `user`'s organization in layer `layer`. */
  orgOf(user: number, layer: number): number {
    const shifted = (user + layer * this.shift()) % this.users;
    return layer * this.orgsPerLayer + Math.floor(shifted / this.membersPerOrg);
  }

  /** Global organization indexes of `user`, one per layer. */
  orgsOf(user: number): number[] {
    const out: number[] = [];
    for (let layer = 0; layer < this.orgsPerUser; layer++) out.push(this.orgOf(user, layer));
    return out;
  }

  layerOf(org: number): number {
    return Math.floor(org / this.orgsPerLayer);
  }

  /** Members of organization `org` (users whose layer-k membership is `org`). */
  membersOf(org: number): number {
    const within = org % this.orgsPerLayer;
    return Math.min(this.membersPerOrg, this.users - within * this.membersPerOrg);
  }

  orgName(org: number): string {
    return `${this.prefix}-${org}`;
  }

  userName(user: number): string {
    return `${this.prefix}-u${user}`;
  }

  /** A shift that is not a multiple of membersPerOrg, so layers mix different users. */
  private shift(): number {
    return this.membersPerOrg > 1 ? Math.floor(this.membersPerOrg / 2) + 1 : 0;
  }
}
