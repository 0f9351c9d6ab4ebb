export interface DrainBatch {
  /** Offset from the start of the drain, in ms. */
  readonly atMs: number;
  /** How many connections to close at that moment. */
  readonly count: number;
}

/**
 * Spreads `connections` closes over `windowMs` in batches about `tickMs` apart, each moment
 * jittered within its slot, so the clients' reconnects do not arrive as one herd. The sum of the
 * counts is `connections`; every batch lands strictly inside the window.
 */
export function planDrain(connections: number, windowMs: number, tickMs = 100, random: () => number = Math.random): DrainBatch[] {
  if (connections <= 0) return [];
  if (windowMs <= 0) return [{ atMs: 0, count: connections }];
  const slots = Math.max(1, Math.min(connections, Math.floor(windowMs / tickMs)));
  const slotMs = windowMs / slots;
  const base = Math.floor(connections / slots);
  let remainder = connections % slots;
  const batches: DrainBatch[] = [];
  for (let slot = 0; slot < slots; slot += 1) {
    const count = base + (remainder > 0 ? 1 : 0);
    if (remainder > 0) remainder -= 1;
    if (count === 0) continue;
    const atMs = Math.floor(slot * slotMs + random() * slotMs * 0.9);
    batches.push({ atMs, count });
  }
  return batches;
}
