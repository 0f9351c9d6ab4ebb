/** How one publish attempt ended: the broker's confirm, its nack, or nothing (the channel closed first). */
export type PublishFate = 'confirmed' | 'nacked' | 'unknown';

/**
 * Every publish of one body (one publisher key `data.k`): a new event, its retries under the same
 * `message_id`, or its byte-identical repeats without one (each a distinct event).
 */
export interface LedgerGroup {
  readonly key: string;
  readonly organization: string;
  readonly bytes: number;
  /** Above MAX_EVENT_BYTES: must be dead-lettered, never stored or delivered. */
  readonly oversized: boolean;
  readonly messageId: string | undefined;
  /** The run's sentinel of its organization, published once the faults are over. */
  readonly sentinel: boolean;
  attempts: number;
  confirmed: number;
  nacked: number;
  unknown: number;
  /** Publishes of this body without message id after the first (distinct events). */
  repeats: number;
  /** Repeats with the first publish's properties too (the same dedupe hash). */
  identicalRepeats: number;
  /** Time of the first attempt (ms). */
  readonly firstAtMs: number;
}

export interface LedgerStats {
  attempts: number;
  confirmed: number;
  nacked: number;
  unknown: number;
  withMessageId: number;
  repeats: number;
  identicalRepeats: number;
  oversized: number;
}

/** What the publisher sent and what the broker said of it. */
export class PublishLedger {
  readonly groups = new Map<string, LedgerGroup>();
  private pendingCount = 0;

  open(group: Omit<LedgerGroup, 'attempts' | 'confirmed' | 'nacked' | 'unknown' | 'repeats' | 'identicalRepeats'>): LedgerGroup {
    const existing = this.groups.get(group.key);
    if (existing !== undefined) return existing;
    const created: LedgerGroup = { ...group, attempts: 0, confirmed: 0, nacked: 0, unknown: 0, repeats: 0, identicalRepeats: 0 };
    this.groups.set(group.key, created);
    return created;
  }

  /** One attempt started; call the returned function once with its fate. */
  attempt(group: LedgerGroup, repeat: 'first' | 'retry' | 'repeat' | 'identical-repeat'): (fate: PublishFate) => void {
    group.attempts += 1;
    if (repeat === 'repeat' || repeat === 'identical-repeat') group.repeats += 1;
    if (repeat === 'identical-repeat') group.identicalRepeats += 1;
    this.pendingCount += 1;
    let settled = false;
    return (fate) => {
      if (settled) return;
      settled = true;
      this.pendingCount -= 1;
      group[fate] += 1;
    };
  }

  get pending(): number {
    return this.pendingCount;
  }

  stats(): LedgerStats {
    const stats: LedgerStats = { attempts: 0, confirmed: 0, nacked: 0, unknown: 0, withMessageId: 0, repeats: 0, identicalRepeats: 0, oversized: 0 };
    for (const g of this.groups.values()) {
      stats.attempts += g.attempts;
      stats.confirmed += g.confirmed;
      stats.nacked += g.nacked;
      stats.unknown += g.unknown;
      stats.repeats += g.repeats;
      stats.identicalRepeats += g.identicalRepeats;
      if (g.messageId !== undefined) stats.withMessageId += 1;
      if (g.oversized) stats.oversized += 1;
    }
    stats.unknown += this.pendingCount;
    return stats;
  }
}
