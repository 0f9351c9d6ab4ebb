/**
 * A conditional append was refused: the organization's last append did not carry the token it had
 * to follow (that append failed or has not happened yet). Nothing was stored; retry once the
 * predecessor is in.
 */
export class HistoryOrderError extends Error {
  override readonly name = 'HistoryOrderError';

  constructor(readonly organizationId: string, readonly afterToken: string) {
    super(`the last append to the history of organization ${JSON.stringify(organizationId)} is not the one this append follows; nothing was appended`);
  }
}

/**
 * An append of a sequencer run was refused: the organization has an append of a later run (another
 * pod took over sequencing, or this pod's ingest connection was replaced). It is a stale
 * sequencer's append that reached Redis late (a timed-out command executed after the failover):
 * nothing was stored; its message is the new run's now.
 */
export class StaleRunError extends Error {
  override readonly name = 'StaleRunError';

  constructor(readonly organizationId: string, readonly run: number) {
    super(`the history of organization ${JSON.stringify(organizationId)} has appends of a sequencer run later than ${run}; nothing was appended`);
  }
}
