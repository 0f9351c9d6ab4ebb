import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/wait.js';
import { BindingError, BrokerUnavailableError } from './event-source-error.js';
import { createOrganizationBindings, type BindingBroker } from './organization-bindings.js';

/** Connections are numbers; the broker's bindings are a set; every change is logged per connection. */
class FakeBroker implements BindingBroker<number> {
  live: number | undefined = 1;
  readonly bound = new Set<string>();
  readonly log: string[] = [];
  /** The next change of an organization waits for its promise here (a slow broker reply). */
  readonly holds = new Map<string, Promise<void>>();
  /** The next change fails: refused on a live connection, or lost with it. */
  failNext: 'refuse' | 'lose' | undefined;
  private readonly waiting = new Set<(connection: number) => void>();

  connected(timeoutMs: number): Promise<number> {
    if (this.live !== undefined) return Promise.resolve(this.live);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(onConnect);
        reject(new BrokerUnavailableError(`not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      const onConnect = (connection: number) => {
        clearTimeout(timer);
        resolve(connection);
      };
      this.waiting.add(onConnect);
    });
  }

  connect(connection: number): void {
    this.live = connection;
    for (const waiter of this.waiting) waiter(connection);
    this.waiting.clear();
  }

  isLive(target: number): boolean {
    return target === this.live;
  }

  bind(target: number, organizationId: string): Promise<void> {
    return this.change(target, 'bind', organizationId);
  }

  unbind(target: number, organizationId: string): Promise<void> {
    return this.change(target, 'unbind', organizationId);
  }

  private async change(target: number, what: 'bind' | 'unbind', organizationId: string): Promise<void> {
    const hold = this.holds.get(organizationId);
    this.holds.delete(organizationId);
    await hold;
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure === 'lose') this.live = undefined;
    if (failure !== undefined || target !== this.live) throw new Error(`${what} failed`);
    this.log.push(`${target}:${what} ${organizationId}`);
    if (what === 'bind') this.bound.add(organizationId);
    else this.bound.delete(organizationId);
  }
}

function setup(timeoutMs = 1_000) {
  const broker = new FakeBroker();
  return { broker, bindings: createOrganizationBindings(broker, { timeoutMs, now: Date.now }) };
}

describe('createOrganizationBindings', () => {
  it('applies binds and unbinds on the live connection before resolving', async () => {
    const { broker, bindings } = setup();
    await bindings.bind('org-a');
    expect(broker.bound).toEqual(new Set(['org-a']));
    await bindings.unbind('org-a');
    expect(broker.bound).toEqual(new Set());
    expect(broker.log).toEqual(['1:bind org-a', '1:unbind org-a']);
  });

  it('applies the calls for one organization in call order, so a quick unbind then bind ends bound', async () => {
    const { broker, bindings } = setup();
    await bindings.bind('org-a');
    let release = () => {};
    broker.holds.set('org-a', new Promise((resolve) => {
      release = resolve;
    }));
    // The slow unbind must not let the bind behind it overtake it.
    const calls = [bindings.unbind('org-a'), bindings.bind('org-a'), bindings.bind('org-b'), bindings.unbind('org-b')];
    await new Promise((resolve) => setImmediate(resolve));
    expect(broker.log).toEqual(['1:bind org-a', '1:bind org-b', '1:unbind org-b']);
    release();
    await Promise.all(calls);
    expect(broker.bound).toEqual(new Set(['org-a']));
    expect(broker.log.filter((entry) => entry.endsWith('org-a'))).toEqual(['1:bind org-a', '1:unbind org-a', '1:bind org-a']);
    expect(broker.log.filter((entry) => entry.endsWith('org-b'))).toEqual(['1:bind org-b', '1:unbind org-b']);
    expect([...bindings.wanted()]).toEqual(['org-a']);
  });

  it('waits for the next connection while disconnected, and rejects after the timeout without forgetting', async () => {
    const { broker, bindings } = setup(50);
    broker.live = undefined;
    await expect(bindings.bind('org-lost')).rejects.toBeInstanceOf(BrokerUnavailableError);
    const late = bindings.bind('org-late');
    await new Promise((resolve) => setImmediate(resolve));
    expect(broker.log).toEqual([]);
    broker.connect(2);
    await late;
    expect(broker.log).toEqual(['2:bind org-late']);
    expect([...bindings.wanted()]).toEqual(['org-lost', 'org-late']);
  });

  it('restores every wanted binding on a new connection, and unbinds what was asked unbound meanwhile', async () => {
    const { broker, bindings } = setup(50);
    await bindings.bind('org-a');
    await bindings.bind('org-b');
    broker.live = undefined;
    await expect(bindings.unbind('org-b')).rejects.toBeInstanceOf(BrokerUnavailableError);
    broker.live = 3;
    await bindings.restore(3);
    expect(broker.log.slice(2).sort()).toEqual(['3:bind org-a', '3:unbind org-b']);
    // The unbind is no longer owed once confirmed.
    broker.log.length = 0;
    await bindings.restore(3);
    expect(broker.log).toEqual(['3:bind org-a']);
  });

  it('applies a change lost with its connection on the next one, and reports a refusal on a live one', async () => {
    const { broker, bindings } = setup();
    broker.failNext = 'lose';
    const bound = bindings.bind('org-a');
    await waitFor(() => broker.live === undefined, 1_000, 'the connection lost');
    broker.connect(2);
    await bound;
    expect(broker.log).toEqual(['2:bind org-a']);
    broker.failNext = 'refuse';
    await expect(bindings.bind('org-b')).rejects.toBeInstanceOf(BindingError);
  });
});
