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
