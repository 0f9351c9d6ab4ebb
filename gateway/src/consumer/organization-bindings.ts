import { BindingError } from './event-source-error.js';

/** The broker side, for one connection `T` at a time. */
export interface BindingBroker<T> {
  /** The live connection at once, else the next one; rejects after `timeoutMs` or once stopped. */
  connected(timeoutMs: number): Promise<T>;
  /** `target` is still the live connection. */
  isLive(target: T): boolean;
  /** Resolve once the broker confirmed; idempotent on the broker. */
  bind(target: T, organizationId: string): Promise<void>;
  unbind(target: T, organizationId: string): Promise<void>;
}

export interface OrganizationBindings<T> {
  /**
   * Wants the organization bound; resolves once the broker confirmed it, waiting for a connection
   * when there is none (up to the timeout). A rejection does not forget it: it stays wanted and is
   * bound on the next connection, until `unbind`.
   */
  bind(organizationId: string): Promise<void>;
  /** Wants it unbound; same waiting rules (a failed unbind is retried on the next connection). */
  unbind(organizationId: string): Promise<void>;
  /** On a new connection, before it is used: unbinds what is owed, binds every wanted organization. */
  restore(target: T): Promise<void>;
  /** The organizations wanted bound, in request order. */
  wanted(): ReadonlySet<string>;
}

export interface OrganizationBindingsOptions {
  /** Longest a bind or unbind waits for a connection, in total. */
  readonly timeoutMs: number;
  readonly now: () => number;
}

/**
 * The per-pod set of bound organizations, remembered across reconnections. Calls for one
 * organization are applied one after another, in call order, so a quick unbind then bind always
 * ends bound; calls for different organizations do not wait for each other.
 */
export function createOrganizationBindings<T>(broker: BindingBroker<T>, options: OrganizationBindingsOptions): OrganizationBindings<T> {
  const wanted = new Set<string>();
  /** Asked unbound, not yet confirmed by the broker: unbound again on the next connection. */
  const owed = new Set<string>();
  /** Tail of each organization's queue of calls; never rejects. */
  const queues = new Map<string, Promise<void>>();

  /** Runs `operation` after the organization's earlier calls; `isLatest` tells whether a later call came. */
  function serialize(organizationId: string, operation: (isLatest: () => boolean) => Promise<void>): Promise<void> {
    const previous = queues.get(organizationId) ?? Promise.resolve();
    const result = previous.then(() => operation(() => queues.get(organizationId) === tail));
    const tail: Promise<void> = result.then(noop, noop).then(() => {
      if (queues.get(organizationId) === tail) queues.delete(organizationId);
    });
    queues.set(organizationId, tail);
    return result;
  }

  /** Applies `change` on the live connection; one lost midway is waited out and applied on the next. */
  async function apply(what: string, change: (target: T) => Promise<void>): Promise<void> {
    const deadline = options.now() + options.timeoutMs;
    for (;;) {
      const target = await broker.connected(Math.max(0, deadline - options.now()));
      try {
        await change(target);
        return;
      } catch (error) {
        if (broker.isLive(target)) throw new BindingError(`the broker refused to ${what}`, { cause: error });
      }
    }
  }

  return {
    bind(organizationId) {
      wanted.add(organizationId);
      owed.delete(organizationId);
      return serialize(organizationId, () => apply(`bind organization ${organizationId}`, (target) => broker.bind(target, organizationId)));
    },
    unbind(organizationId) {
      wanted.delete(organizationId);
      owed.add(organizationId);
      return serialize(organizationId, (isLatest) => apply(`unbind organization ${organizationId}`, async (target) => {
        await broker.unbind(target, organizationId);
        if (isLatest()) owed.delete(organizationId);
      }));
    },
    async restore(target) {
      const unbinding = [...owed];
      await Promise.all([
        ...unbinding.map((organizationId) => broker.unbind(target, organizationId)),
        ...[...wanted].map((organizationId) => broker.bind(target, organizationId)),
      ]);
      for (const organizationId of unbinding) {
        if (!queues.has(organizationId)) owed.delete(organizationId);
      }
    },
    wanted: () => wanted,
  };
}

function noop(): void {}
