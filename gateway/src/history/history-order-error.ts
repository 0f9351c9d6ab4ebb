/**
 * A conditional append was refused: the history holds no entry for the dedupe key it had to follow
 * (that append failed or has not happened yet). Nothing was stored; retry once the predecessor is in.
 */
export class HistoryOrderError extends Error {
  override readonly name = 'HistoryOrderError';

  constructor(readonly organizationId: string, readonly after: string) {
    super(`history of organization ${JSON.stringify(organizationId)} holds no entry for the preceding dedupe key; nothing was appended`);
  }
}
