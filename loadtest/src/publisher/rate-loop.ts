/**
 * Calls `send` at a target rate (or as fast as possible) until a duration or an event count is
 * reached, whichever comes first. Rate mode sends what is due every tick, so a short stall is
 * caught up at once (the schedule is absolute, like a real producer's); max mode sends in batches
 * and yields between them. `send` returns false when its transport wants a pause (`drain`).
 */
export interface RateLoopOptions {
  /** Events per second; 0 = as fast as the transport accepts. */
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly maxEvents: number;
  /** Stop early, e.g. on a signal. */
  readonly signal?: AbortSignal;
}

export interface RateLoopResult {
  readonly sent: number;
  readonly elapsedMs: number;
}

const TICK_MS = 2;
const MAX_BATCH = 1_000;

export async function runRateLoop(options: RateLoopOptions, send: (index: number) => boolean, drain: () => Promise<void>): Promise<RateLoopResult> {
  const started = performance.now();
  const deadline = started + options.durationMs;
  let sent = 0;
  while (sent < options.maxEvents && options.signal?.aborted !== true) {
    const now = performance.now();
    if (now >= deadline) break;
    const due = options.ratePerSecond > 0
      ? Math.min(options.maxEvents, Math.floor(((now - started) * options.ratePerSecond) / 1000) + 1)
      : Math.min(options.maxEvents, sent + MAX_BATCH);
    let paused = false;
    while (sent < due) {
      const accepted = send(sent);
      sent += 1;
      if (!accepted) {
        paused = true;
        break;
      }
    }
    if (paused) await drain();
    else if (options.ratePerSecond > 0) await sleep(TICK_MS);
    else await new Promise((resolve) => setImmediate(resolve));
  }
  return { sent, elapsedMs: performance.now() - started };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
