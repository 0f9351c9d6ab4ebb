import type { CloseReason } from '../metrics/metrics.js';
import type { Session } from '../session/session.js';
import { planDrain } from './drain-plan.js';

/** Closes `sessions` (already shuffled) in jittered batches spread over `windowMs`. */
export async function drainSessions(sessions: readonly Session[], windowMs: number, code: number, message: string, reason: CloseReason): Promise<void> {
  const plan = planDrain(sessions.length, windowMs);
  const startedAt = Date.now();
  let next = 0;
  for (const batch of plan) {
    const wait = startedAt + batch.atMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    for (const session of sessions.slice(next, next + batch.count)) session.close(code, message, reason);
    next += batch.count;
  }
}
