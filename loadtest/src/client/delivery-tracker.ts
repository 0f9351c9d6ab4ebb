import type { OrgLayout } from '../layout/org-layout.js';

/** Totals of one client process (or, summed, of the whole run). */
export interface DeliveryCounts {
  /** Events every established connection should have received (per the publisher's final sequences). */
  expected: number;
  /** Distinct events received by connections that were established before publishing began. */
  unique: number;
  /** Events received a second time or out of order (sequence not above the last seen). */
  duplicates: number;
  /** Events for an organization the connection does not belong to (tenant isolation broken). */
  foreign: number;
  /** expected − unique, never negative. */
  lost: number;
}

export interface LossSample {
  readonly user: number;
  readonly org: number;
  readonly expected: number;
  readonly received: number;
  readonly lastSeq: number;
}

/** record() results other than a layer. */
export const FOREIGN = -1;
export const DUPLICATE = -2;

/**
 * Loss and duplicate accounting per (connection, organization). The publisher numbers each
 * organization's events 1, 2, 3…; a server delivers an organization's events in order, so per
 * slot only the highest sequence seen is kept: a sequence at or below it is a duplicate (or a
 * reorder, reported the same way), and whatever was never seen by the end is lost.
 */
export class DeliveryTracker {
  private readonly last: Int32Array;
  private readonly unique: Int32Array;
  duplicates = 0;
  foreign = 0;

  constructor(
    private readonly layout: OrgLayout,
    /** Global user index of each local connection. */
    private readonly users: readonly number[],
  ) {
    this.last = new Int32Array(users.length * layout.orgsPerUser);
    this.unique = new Int32Array(users.length * layout.orgsPerUser);
  }

  /** Records one event for local connection `conn`; returns its layer, -1 if foreign, -2 if a duplicate. */
  record(conn: number, org: number, seq: number): number {
    const layer = this.layout.layerOf(org);
    if (layer >= this.layout.orgsPerUser || this.layout.orgOf(this.users[conn]!, layer) !== org) {
      this.foreign += 1;
      return FOREIGN;
    }
    const slot = conn * this.layout.orgsPerUser + layer;
    if (seq > this.last[slot]!) {
      this.last[slot] = seq;
      this.unique[slot]! += 1;
      return layer;
    }
    this.duplicates += 1;
    return DUPLICATE;
  }

  lastSeq(conn: number, layer: number): number {
    return this.last[conn * this.layout.orgsPerUser + layer]!;
  }

  /**
   * The first `limit` (connection, layer) slots that miss events: what they got and the last
   * sequence seen, to tell a missing tail (delivery stopped) from a hole (an event skipped).
   */
  lossSamples(finalSeqs: ArrayLike<number>, counted: (conn: number) => boolean, limit: number): LossSample[] {
    const out: LossSample[] = [];
    const k = this.layout.orgsPerUser;
    for (let conn = 0; conn < this.users.length && out.length < limit; conn++) {
      if (!counted(conn)) continue;
      for (let layer = 0; layer < k && out.length < limit; layer++) {
        const org = this.layout.orgOf(this.users[conn]!, layer);
        const expected = finalSeqs[org] ?? 0;
        const got = this.unique[conn * k + layer]!;
        if (got < expected) out.push({ user: this.users[conn]!, org, expected, received: got, lastSeq: this.last[conn * k + layer]! });
      }
    }
    return out;
  }

  /**
   * Totals against the publisher's final sequence per organization. `counted(conn)` says whether
   * a connection was established before publishing began (others are reported as connect failures).
   */
  totals(finalSeqs: ArrayLike<number>, counted: (conn: number) => boolean): DeliveryCounts {
    let expected = 0;
    let unique = 0;
    const k = this.layout.orgsPerUser;
    for (let conn = 0; conn < this.users.length; conn++) {
      if (!counted(conn)) continue;
      const user = this.users[conn]!;
      for (let layer = 0; layer < k; layer++) {
        expected += finalSeqs[this.layout.orgOf(user, layer)] ?? 0;
        unique += this.unique[conn * k + layer]!;
      }
    }
    return { expected, unique, duplicates: this.duplicates, foreign: this.foreign, lost: Math.max(0, expected - unique) };
  }
}

export function addCounts(a: DeliveryCounts, b: DeliveryCounts): DeliveryCounts {
  return {
    expected: a.expected + b.expected,
    unique: a.unique + b.unique,
    duplicates: a.duplicates + b.duplicates,
    foreign: a.foreign + b.foreign,
    lost: a.lost + b.lost,
  };
}

export const ZERO_COUNTS: DeliveryCounts = { expected: 0, unique: 0, duplicates: 0, foreign: 0, lost: 0 };
