import { StoreUnavailableError } from '../stores/store-unavailable-error.js';

/** Redis error replies that say the server cannot serve now (not that the command is wrong). */
const UNAVAILABLE_REPLIES = /^(OOM|BUSY|LOADING|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF)\b/;

/**
 * A failed Redis call as the stores report it: a timeout, a connection that is down or a refusal
 * to serve becomes a StoreUnavailableError; anything else (a wrong command, a script error: a bug)
 * is returned as it was.
 */
export function storeErrorOf(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  // ioredis: every error reply from the server is a ReplyError; the rest are client-side
  // (command timeout, connection closed, retries per request exhausted, stream not writable).
  if (error.name === 'ReplyError') return UNAVAILABLE_REPLIES.test(error.message) ? new StoreUnavailableError(error) : error;
  return new StoreUnavailableError(error);
}
