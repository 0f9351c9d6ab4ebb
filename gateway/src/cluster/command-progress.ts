/**
 * How far this pod has applied the cluster commands, by their numbers (the command bus numbers them
 * in publish order), and a wait on it. The routed path and the history reads use it as a fence: an
 * event sequenced after a command (a removal) is delivered only once this pod has applied that
 * command, so a removal heard on the command stream takes effect before the events after it, however
 * far the pod's command reader lags the broker.
 */
export interface CommandFence {
  /** True when every command up to `seq` has been applied here (or `seq` was waited for in vain). */
  hasHeard(seq: number): boolean;
  /** Resolves once `hasHeard(seq)`; at the latest after the fence's timeout (then counted). */
  waitFor(seq: number): Promise<void>;
  /** The number of the newest command published by any pod (a read), undefined when there is none to wait for. */
  latest(): Promise<number | undefined>;
}

/** A fence that never waits: a single node applies its commands as they are published. */
export const NO_COMMAND_FENCE: CommandFence = {
  hasHeard: () => true,
  waitFor: async () => undefined,
  latest: async () => undefined,
};

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
  readonly timer: NodeJS.Timeout;
}

export interface CommandProgressOptions {
  /**
   * How long a wait lasts at most: a pod that cannot read the command stream (its Redis connection
   * down) delivers after this rather than hold its organizations' events for good.
   */
  readonly timeoutMs: number;
  /** A wait ended by the timeout: `seq` waited for, `heard` where the reader stands. */
  readonly timedOut: (seq: number, heard: number) => void;
}

/** The reader's side of the fence: it reports each command it applied; waits are released in order. */
export class CommandProgress {
  /** Every command up to this number has been applied. */
  private heard = 0;
  /**
   * Waited for in vain up to this number (the reader could not read meanwhile): frames that carry
   * it go on without waiting again, until the reader moves (then it is waited for as before).
   */
  private waivedUpTo = 0;
  private waiters: Waiter[] = [];
  private closed = false;

  constructor(private readonly options: CommandProgressOptions) {}

  hasHeard(seq: number): boolean {
    return this.closed || seq <= this.heard || seq <= this.waivedUpTo;
  }

  /** The reader applied command `seq` (or stands at it: where the stream was when the pod started). */
  applied(seq: number): void {
    if (seq <= this.heard) return;
    this.heard = seq;
    this.waivedUpTo = 0;
    this.releaseUpTo(seq);
  }

  /**
   * The counter started over at `seq` (Redis lost its data) after the reader had heard `before`:
   * the progress starts over with it. Fences up to `before` (numbers of the lost counter, which a
   * sequencer goes on stamping until it reads the new one) pass until the first new command is
   * applied; from then on the new numbers are waited for as before. Waits for numbers above
   * `before` end by their timeout.
   */
  restarted(seq: number, before: number): void {
    this.heard = seq;
    this.waivedUpTo = Math.max(before, seq);
    this.releaseUpTo(this.waivedUpTo);
  }

  waitFor(seq: number): Promise<void> {
    if (this.hasHeard(seq)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        // Given up on: later frames with this fence go out without waiting again, until the
        // reader moves (a counter that started over comes down to where it is, see `restarted`).
        if (!this.hasHeard(seq)) {
          this.options.timedOut(seq, this.heard);
          this.waivedUpTo = seq;
          this.releaseUpTo(seq);
        }
        resolve();
      }, this.options.timeoutMs);
      timer.unref();
      const waiter: Waiter = { seq, resolve, timer };
      this.waiters.push(waiter);
    });
  }

  /** The reader stopped: nothing waits any more. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) this.release(waiter);
  }

  private releaseUpTo(seq: number): void {
    if (this.waiters.length === 0) return;
    const due = this.waiters.filter((w) => w.seq <= seq);
    if (due.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.seq > seq);
    for (const waiter of due) this.release(waiter);
  }

  private release(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    waiter.resolve();
  }
}
