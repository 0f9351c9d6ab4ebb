/** How often the pacer looks at its queue on its own (besides when an attempt ends or one is queued). */
const PUMP_INTERVAL_MS = 10;

export interface ConnectPacerOptions {
  /** Connections the pacer handles: indexes 0 … connections − 1. */
  readonly connections: number;
  /** Attempts in flight at most (started and not yet ended). */
  readonly concurrency: number;
  /** Attempts started per second at most; 0 = as fast as the concurrency allows. */
  readonly ratePerSecond: number;
}

/**
 * The connect queue of a client process: which connection opens next and when. A connection is
 * opened when an attempt slot is free (`concurrency`) and, with `ratePerSecond`, a token of the
 * bucket is there (it refills at the rate and holds at most `concurrency`, so a pause is not
 * caught up in one burst). Reopens may wait a delay first. Everything is bounded: the queue by the
 * number of connections, the timers by one per connection.
 */
export class ConnectPacer {
  private readonly queue: number[] = [];
  /** A pending delayed reopen per connection. */
  private readonly delayed: Array<NodeJS.Timeout | undefined>;
  private inFlight = 0;
  private tokens = 0;
  private lastPumpMs = 0;
  private ticker: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly options: ConnectPacerOptions,
    /** Starts an attempt for connection `index`; `release()` once it has ended, established or not. */
    private readonly open: (index: number) => void,
  ) {
    const { connections, concurrency, ratePerSecond } = options;
    if (!Number.isInteger(connections) || connections < 0) throw new RangeError(`connections must be an integer ≥ 0, got ${connections}`);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be an integer ≥ 1, got ${concurrency}`);
    if (!Number.isFinite(ratePerSecond) || ratePerSecond < 0) throw new RangeError(`ratePerSecond must be ≥ 0, got ${ratePerSecond}`);
    this.delayed = new Array<NodeJS.Timeout | undefined>(connections).fill(undefined);
  }

  /** Queues every connection and starts opening them. */
  start(): void {
    for (let i = 0; i < this.options.connections; i++) this.queue.push(i);
    this.tokens = Math.min(this.options.ratePerSecond, this.options.concurrency);
    this.lastPumpMs = Date.now();
    this.ticker = setInterval(() => this.pump(), PUMP_INTERVAL_MS);
    this.pump();
  }

  /** Queues connection `index` again after `delayMs`, then opens what the limits allow. */
  reopenAfter(index: number, delayMs: number): void {
    this.delayed[index] = setTimeout(() => {
      this.delayed[index] = undefined;
      if (this.stopped) return;
      this.queue.push(index);
      this.pump();
    }, delayMs);
  }

  /** An attempt ended (established or not): its slot is free for the next `pump()`. */
  release(): void {
    this.inFlight -= 1;
  }

  /** Opens queued connections while a slot (and, rate-limited, a token) is free. */
  pump(): void {
    if (this.stopped) return;
    const { concurrency, ratePerSecond } = this.options;
    const limitRate = ratePerSecond > 0;
    if (limitRate) {
      const now = Date.now();
      this.tokens = Math.min(concurrency, this.tokens + ((now - this.lastPumpMs) * ratePerSecond) / 1000);
      this.lastPumpMs = now;
    }
    while (this.inFlight < concurrency && this.queue.length > 0) {
      if (limitRate) {
        if (this.tokens < 1) return;
        this.tokens -= 1;
      }
      this.inFlight += 1;
      this.open(this.queue.shift()!);
    }
  }

  /** Opens nothing more: drops the queue, the pending reopens and the ticker. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    for (let i = 0; i < this.delayed.length; i++) {
      const timer = this.delayed[i];
      if (timer === undefined) continue;
      clearTimeout(timer);
      this.delayed[i] = undefined;
    }
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
