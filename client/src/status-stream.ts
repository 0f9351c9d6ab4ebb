import type { ClientStatus } from './status.js';

type Listener = (status: ClientStatus) => void;

/**
 * The status as a value with subscribers: a callback API and async iterators. Each iterator gets
 * every status from the current one on, in order, and ends after `closed`.
 */
export class StatusStream {
  private readonly listeners = new Set<Listener>();

  constructor(private current: ClientStatus, private readonly report: (error: unknown) => void) {}

  get value(): ClientStatus {
    return this.current;
  }

  /** Moves to `status`; a status equal to the current one (field by field) is not reported again. */
  set(status: ClientStatus): void {
    if (this.current.type === 'closed' || shallowEqual(this.current, status)) return;
    this.current = status;
    for (const listener of [...this.listeners]) {
      try {
        listener(status);
      } catch (error) {
        this.report(error);
      }
    }
  }

  /** Calls `listener` now with the current status, then on every change. Returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    try {
      listener(this.current);
    } catch (error) {
      this.report(error);
    }
    return () => {
      this.listeners.delete(listener);
    };
  }

  iterate(): AsyncIterableIterator<ClientStatus> {
    const queue: ClientStatus[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    const unsubscribe = this.subscribe((status) => {
      queue.push(status);
      wake?.();
    });
    const finish = (): IteratorResult<ClientStatus> => {
      finished = true;
      unsubscribe();
      queue.length = 0;
      wake?.();
      return { done: true, value: undefined };
    };
    const iterator: AsyncIterableIterator<ClientStatus> = {
      next: async () => {
        while (!finished && queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        const status = queue.shift();
        if (status === undefined) return finish();
        if (status.type === 'closed') {
          finished = true;
          unsubscribe();
        }
        return { done: false, value: status };
      },
      return: async () => finish(),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

function shallowEqual(a: object, b: object): boolean {
  const left = Object.entries(a);
  return left.length === Object.keys(b).length && left.every(([key, value]) => (b as Record<string, unknown>)[key] === value);
}
