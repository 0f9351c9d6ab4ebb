/**
 * A small typed event emitter. A throwing listener does not stop the others: its error goes to
 * `report` (by default the host's reportError, as for DOM event listeners).
 */
export class Emitter<TMap extends object> {
  private readonly listeners = new Map<PropertyKey, Set<(payload: never) => void>>();

  constructor(private readonly report: (error: unknown) => void) {}

  on<K extends keyof TMap>(type: K, listener: (payload: TMap[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(type, set);
    }
    const stored = listener as (payload: never) => void;
    set.add(stored);
    return () => {
      set.delete(stored);
    };
  }

  emit<K extends keyof TMap>(type: K, payload: TMap[K]): void {
    const set = this.listeners.get(type);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as (payload: TMap[K]) => void)(payload);
      } catch (error) {
        this.report(error);
      }
    }
  }

  has(type: keyof TMap): boolean {
    return (this.listeners.get(type)?.size ?? 0) > 0;
  }
}

/** Reports a listener's error the way the host reports uncaught errors, without unwinding the client. */
export function reportListenerError(error: unknown): void {
  const host = globalThis as { reportError?: (error: unknown) => void };
  if (typeof host.reportError === 'function') {
    host.reportError(error);
    return;
  }
  setTimeout(() => {
    throw error;
  }, 0);
}
