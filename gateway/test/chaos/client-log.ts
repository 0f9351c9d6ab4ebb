import { compareEventIds } from '../../src/history/event-id.js';

/** The kinds of client the chaos run drives, one row each in the report. */
export const CLIENT_KINDS = ['ws-stay', 'ws-churn', 'sdk-ws', 'sdk-poll', 'poll'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/**
 * What one client saw of one organization, in the order it saw it:
 * - `join`: a session started at `position` (the `resume` of `connection.established`, or the cursor
 *   of a first poll answer): the events after it are the client's from then on;
 * - `event`: an event handed to the application (`key` is the publisher's key inside `data`);
 * - `flag`: the client was told plainly it may have missed events (`recovered: false`,
 *   `organization.resync`, an SDK `resync` notice).
 */
export type Reception =
  | { readonly kind: 'join'; readonly position: string; readonly atMs: number }
  | { readonly kind: 'event'; readonly id: string; readonly key: string | undefined; readonly atMs: number }
  | { readonly kind: 'flag'; readonly reason: string; readonly atMs: number };

/** Counters of a client's life that the verdict does not judge but the report shows. */
export interface ClientCounters {
  /** Sessions that started (`connection.established`, or a poll answer after a failure). */
  sessions: number;
  /** Sessions that ended without the client asking. */
  drops: number;
  /** Upgrades or polls refused, or failed before an answer. */
  failedAttempts: number;
  /** Events whose `prev` was not the last id the client had (raw clients: a gap on the wire). */
  chainBreaks: number;
  /** SDK: gaps the SDK noticed and repaired by resuming. */
  sdkRepairs: number;
}

/** Everything one client received over its lifetime, per organization. */
export class ClientLog {
  readonly counters: ClientCounters = { sessions: 0, drops: 0, failedAttempts: 0, chainBreaks: 0, sdkRepairs: 0 };
  /** Close codes of the sessions that ended (raw WebSocket clients), by code. */
  readonly closeCodes = new Map<number, number>();
  private readonly byOrganization = new Map<string, Reception[]>();
  /** Per organization, the newest event id received, else the first join position. */
  private readonly marks = new Map<string, string>();

  constructor(readonly name: string, readonly kind: ClientKind, readonly organizations: readonly string[], private readonly now: () => number = Date.now) {}

  join(organization: string, position: string): void {
    this.records(organization).push({ kind: 'join', position, atMs: this.now() });
    if (!this.marks.has(organization)) this.marks.set(organization, position);
  }

  event(organization: string, id: string, data: unknown): void {
    this.records(organization).push({ kind: 'event', id, key: keyOf(data), atMs: this.now() });
    const mark = this.marks.get(organization);
    if (mark === undefined || compareEventIds(id, mark) > 0) this.marks.set(organization, id);
  }

  flag(organization: string, reason: string): void {
    this.records(organization).push({ kind: 'flag', reason, atMs: this.now() });
  }

  closed(code: number): void {
    this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
  }

  /** The newest id received of the organization (or where the client joined); undefined before it joined. */
  mark(organization: string): string | undefined {
    return this.marks.get(organization);
  }

  receptions(organization: string): readonly Reception[] {
    return this.byOrganization.get(organization) ?? [];
  }

  joined(organization: string): boolean {
    return this.marks.has(organization);
  }

  private records(organization: string): Reception[] {
    let list = this.byOrganization.get(organization);
    if (list === undefined) {
      list = [];
      this.byOrganization.set(organization, list);
    }
    return list;
  }
}

/** The publisher's key of an event (`data.k`), which ties a delivery to a publish. */
export function keyOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const key = (data as { k?: unknown }).k;
  return typeof key === 'string' ? key : undefined;
}
