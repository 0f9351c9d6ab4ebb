/** Options shared by every PresenceStore implementation. */
export interface PresenceOptions {
  /** A pod counts as alive while its last heartbeat is younger than this (ms). */
  readonly podTtlMs: number;
  /** Wall-clock milliseconds of this pod: heartbeat times and liveness decisions. */
  readonly now?: () => number;
}

/** Throws a RangeError before any I/O when the TTL is not a positive integer. */
export function assertPresenceOptions(options: PresenceOptions): void {
  if (!(Number.isSafeInteger(options.podTtlMs) && options.podTtlMs >= 1)) throw new RangeError(`presence podTtlMs must be a positive integer (got ${options.podTtlMs})`);
}

export function assertPod(pod: string): void {
  if (typeof pod !== 'string' || pod.length === 0) throw new RangeError('presence pod name must be a non-empty string');
}

export function assertUser(userId: string): void {
  if (typeof userId !== 'string' || userId.length === 0) throw new RangeError('presence user id must be a non-empty string');
}

export function assertCount(name: string, value: number): void {
  if (!(Number.isSafeInteger(value) && value >= 0)) throw new RangeError(`presence ${name} must be an integer >= 0 (got ${value})`);
}
