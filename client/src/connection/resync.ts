/** An organization whose events may have been missed: the application should refetch its state. */
export interface ResyncNotice {
  readonly organizationId: string;
  /**
   * `history_truncated`: the gateway's history no longer reached back to the last event seen
   * (`recovered: false`, or an `organization.resync` while connected). `history_lost`: the gateway's
   * store lost its data. `not_resumable`: the client had no event id to resume from, or the gateway
   * did not confirm the resume.
   */
  readonly reason: 'history_truncated' | 'history_lost' | 'not_resumable';
}

export interface ResyncInput {
  /** Organizations of the previous session; undefined before the first one (nothing to resync). */
  readonly previous: ReadonlySet<string> | undefined;
  /** Organizations of the new session. */
  readonly organizations: readonly string[];
  /** The gateway's `recovered` map (absent entries: not resumed). */
  readonly recovered: Readonly<Record<string, boolean>> | undefined;
}

/**
 * Which organizations the application must refetch after a (re)connection or a transport switch:
 * those the gateway could not fully recover, and those followed before whose resumption the gateway
 * did not confirm. A first connection and newly granted organizations need none (the application
 * loads them anyway).
 */
export function resyncNotices(input: ResyncInput): ResyncNotice[] {
  const notices: ResyncNotice[] = [];
  for (const organizationId of input.organizations) {
    const recovered = input.recovered?.[organizationId];
    if (recovered === false) notices.push({ organizationId, reason: 'history_truncated' });
    else if (recovered === undefined && input.previous?.has(organizationId) === true) notices.push({ organizationId, reason: 'not_resumable' });
  }
  return notices;
}
