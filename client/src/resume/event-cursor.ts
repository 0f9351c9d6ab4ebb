import { compareEventIds } from './event-id.js';
import { encodeResume } from './resume-param.js';

/** How many ids per organization are remembered for ids that are not `<ms>-<seq>`. */
const RECENT_IDS = 1_024;

/**
 * Where the client is in each organization's stream: the newest event id seen (a high-water mark).
 * It drops duplicates (an id at or below the mark), and is what `resume` sends on a reconnect and
 * to `/api/poll`, so both transports continue from the same place.
 *
 * Ids that are not `<ms>-<seq>` (a gateway without shared history) cannot be ordered: for those,
 * duplicates are recognised by a bounded memory of recent ids instead.
 */
export class EventCursor {
  private readonly marks = new Map<string, string>();
  private readonly recent = new Map<string, Set<string>>();

  /** The newest id seen for the organization, if any. */
  markOf(organizationId: string): string | undefined {
    return this.marks.get(organizationId);
  }

  /** True when the event is new: the mark moves to `id`. False for a duplicate or an older id. */
  accept(organizationId: string, id: string): boolean {
    const mark = this.marks.get(organizationId);
    if (mark !== undefined) {
      const order = compareEventIds(id, mark);
      if (order !== undefined && order <= 0) return false;
      if (order === undefined && this.recent.get(organizationId)?.has(id) === true) return false;
    }
    this.marks.set(organizationId, id);
    this.remember(organizationId, id);
    return true;
  }

  /** Moves the mark to `id` unless it is already there or beyond (a cursor from `/api/poll`). */
  advance(organizationId: string, id: string): void {
    const mark = this.marks.get(organizationId);
    if (mark !== undefined) {
      const order = compareEventIds(id, mark);
      if (order === undefined ? id === mark : order <= 0) return;
    }
    this.marks.set(organizationId, id);
  }

  forget(organizationId: string): void {
    this.marks.delete(organizationId);
    this.recent.delete(organizationId);
  }

  has(organizationId: string): boolean {
    return this.marks.has(organizationId);
  }

  get(organizationId: string): string | undefined {
    return this.marks.get(organizationId);
  }

  organizations(): string[] {
    return [...this.marks.keys()];
  }

  /** The `resume` value, or undefined when no organization has a mark yet. */
  encode(): string | undefined {
    return this.marks.size === 0 ? undefined : encodeResume(this.marks);
  }

  private remember(organizationId: string, id: string): void {
    let ids = this.recent.get(organizationId);
    if (ids === undefined) {
      ids = new Set();
      this.recent.set(organizationId, ids);
    }
    ids.add(id);
    if (ids.size > RECENT_IDS) ids.delete(ids.values().next().value!);
  }
}
