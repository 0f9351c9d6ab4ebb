/**
 * How many connections this pod should shed now: after a scale-out the new pods start empty, and a
 * pod well above the mean hands the excess over gradually (a bounded number per interval, clients
 * reconnect through the load balancer, which spreads them). Pure.
 */
export function connectionsToShed(self: number, livePodCounts: readonly number[], tolerancePercent: number, maxPerInterval: number): number {
  if (livePodCounts.length < 2 || self === 0) return 0;
  const total = livePodCounts.reduce((sum, n) => sum + n, 0);
  const mean = total / livePodCounts.length;
  if (self <= mean * (1 + tolerancePercent / 100) || self - mean < 1) return 0;
  return Math.min(Math.floor(self - mean), maxPerInterval);
}
