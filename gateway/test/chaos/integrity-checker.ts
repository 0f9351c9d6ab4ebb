import { compareEventIds, eventIdTimeMs, isEventId } from '../../src/history/event-id.js';
import type { ClientKind, ClientLog, Reception } from './client-log.js';

/** One organization's history as Redis holds it at the end of the run, oldest first. */
export interface HistoryIndex {
  readonly ids: readonly string[];
  /** The publisher's key (`data.k`) of each id. */
  readonly keyById: ReadonlyMap<string, string | undefined>;
}

/** The judgement of what one client received of one organization against its history. */
export interface OrganizationVerdict {
  readonly client: string;
  readonly kind: ClientKind;
  readonly organization: string;
  /** Where the client joined the organization (its lifetime starts there). */
  readonly joinedAt: string | undefined;
  /** History events after the join: the ones the client must have. */
  readonly checked: number;
  /** Events it must have, did not receive, and was not told about. */
  readonly missing: readonly string[];
  /** Events received more than once (each extra reception listed). */
  readonly duplicated: readonly string[];
  /** Events received after a newer one of the same organization. */
  readonly outOfOrder: readonly string[];
  /** Received events that are not in history, or lie at or before the join position. */
  readonly stray: readonly string[];
  /** Received events whose key differs from the history entry's of that id. */
  readonly mismatched: readonly string[];
  /** Explicit resync notices (recovered: false, organization.resync, SDK resync). */
  readonly flags: number;
  /** Events not received that lie inside a flagged window: not counted as missing. */
  readonly excused: number;
}

export interface CheckOptions {
  /**
   * A flag excuses the events missing between the last event received before it and the first after
   * it, sequenced (by the time in their id) no later than `slackMs` after the flag arrived. Later
   * ones must arrive: a flag says "events before now may be gone", not "stop checking".
   */
  readonly slackMs: number;
}

/** A flagged window: ids in (after, before) whose time is at most untilMs. */
interface FlagWindow {
  readonly after: string | undefined;
  before: string | undefined;
  readonly untilMs: number;
}

/**
 * Compares one client's receptions of one organization with the organization's history: every
 * history event after the client's first join position must have been received exactly once, in id
 * order, unless a flag excuses it; every received event must be in history with the same key.
 */
export function checkOrganization(client: Pick<ClientLog, 'name' | 'kind'>, organization: string, receptions: readonly Reception[], history: HistoryIndex, options: CheckOptions): OrganizationVerdict {
  const joinedAt = receptions.find((r): r is Extract<Reception, { kind: 'join' }> => r.kind === 'join')?.position;
  const seen = new Set<string>();
  const duplicated: string[] = [];
  const outOfOrder: string[] = [];
  const stray: string[] = [];
  const mismatched: string[] = [];
  const windows: FlagWindow[] = [];
  let open: FlagWindow[] = [];
  let newest: string | undefined;
  let flags = 0;

  for (const reception of receptions) {
    if (reception.kind === 'flag') {
      flags += 1;
      const window: FlagWindow = { after: newest ?? joinedAt, before: undefined, untilMs: reception.atMs + options.slackMs };
      windows.push(window);
      open.push(window);
      continue;
    }
    if (reception.kind !== 'event') continue;
    const { id } = reception;
    for (const window of open) window.before = id;
    open = [];
    if (!isEventId(id)) {
      stray.push(id);
      continue;
    }
    if (seen.has(id)) {
      duplicated.push(id);
      continue;
    }
    seen.add(id);
    if (!history.keyById.has(id) || (joinedAt !== undefined && compareEventIds(id, joinedAt) <= 0)) stray.push(id);
    else if (history.keyById.get(id) !== reception.key) mismatched.push(id);
    if (newest !== undefined && compareEventIds(id, newest) < 0) outOfOrder.push(id);
    else newest = id;
  }

  const missing: string[] = [];
  let checked = 0;
  let excused = 0;
  if (joinedAt !== undefined) {
    for (const id of history.ids) {
      if (compareEventIds(id, joinedAt) <= 0) continue;
      checked += 1;
      if (seen.has(id)) continue;
      if (windows.some((w) => inWindow(id, w))) excused += 1;
      else missing.push(id);
    }
  }
  return { client: client.name, kind: client.kind, organization, joinedAt, checked, missing, duplicated, outOfOrder, stray, mismatched, flags, excused };
}

function inWindow(id: string, window: FlagWindow): boolean {
  if (window.after !== undefined && compareEventIds(id, window.after) <= 0) return false;
  if (window.before !== undefined && compareEventIds(id, window.before) >= 0) return false;
  return eventIdTimeMs(id) <= window.untilMs;
}

/** Every organization of every client. */
export function checkClients(clients: readonly ClientLog[], histories: ReadonlyMap<string, HistoryIndex>, options: CheckOptions): OrganizationVerdict[] {
  const empty: HistoryIndex = { ids: [], keyById: new Map() };
  return clients.flatMap((client) => client.organizations.map((organization) => (
    checkOrganization(client, organization, client.receptions(organization), histories.get(organization) ?? empty, options)
  )));
}

/** The counts of one row of the report. */
export interface VerdictTotals {
  clients: number;
  checked: number;
  missing: number;
  duplicated: number;
  outOfOrder: number;
  stray: number;
  mismatched: number;
  flags: number;
  excused: number;
  /** Client-organization pairs that never joined (no session ever started). */
  neverJoined: number;
}

export function totalsOf(verdicts: readonly OrganizationVerdict[]): VerdictTotals {
  const totals: VerdictTotals = { clients: new Set(verdicts.map((v) => v.client)).size, checked: 0, missing: 0, duplicated: 0, outOfOrder: 0, stray: 0, mismatched: 0, flags: 0, excused: 0, neverJoined: 0 };
  for (const v of verdicts) {
    totals.checked += v.checked;
    totals.missing += v.missing.length;
    totals.duplicated += v.duplicated.length;
    totals.outOfOrder += v.outOfOrder.length;
    totals.stray += v.stray.length;
    totals.mismatched += v.mismatched.length;
    totals.flags += v.flags;
    totals.excused += v.excused;
    if (v.joinedAt === undefined) totals.neverJoined += 1;
  }
  return totals;
}

/** Whether a verdict shows a fault the client was not told about. */
export function isViolation(v: OrganizationVerdict): boolean {
  return v.missing.length + v.duplicated.length + v.outOfOrder.length + v.stray.length + v.mismatched.length > 0 || v.joinedAt === undefined;
}
