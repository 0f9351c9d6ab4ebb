import { NO_COMMAND_FENCE } from '../cluster/command-progress.js';
import type { FeedContext } from './organization-feed.js';

/**
 * A FeedContext for tests of what sits on a feed (catch-ups, the connection manager): no clock, no
 * command fence, nothing reported, retries at once. The test gives history and fan-out.
 */
export function feedContextForTests(parts: Pick<FeedContext, 'history' | 'publish' | 'subscribers'> & { readonly bufferSize?: number }): FeedContext {
  return {
    history: parts.history,
    publish: parts.publish,
    subscribers: parts.subscribers,
    now: () => 0,
    bufferSize: parts.bufferSize ?? 100,
    bufferMs: 60_000,
    pageSize: 100,
    maxPending: 100,
    retryDelayMs: () => 1,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    commands: NO_COMMAND_FENCE,
    report: { duplicate: () => undefined, fenceWait: () => undefined, repaired: () => undefined, resync: () => undefined, repairFailed: () => undefined, fault: () => undefined },
  };
}
