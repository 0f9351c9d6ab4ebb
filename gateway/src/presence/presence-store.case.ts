import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceStore } from './presence-store.js';

export interface PresenceStoreFactoryOptions {
  readonly podTtlMs: number;
  /** The clock every store instance must use. */
  readonly now: () => number;
}

export interface PresenceStoreHarness {
  /** Two store instances over the same shared state (for Redis: two connections). */
  readonly stores: readonly [PresenceStore, PresenceStore];
  cleanup(): Promise<void>;
}

export type PresenceStoreFactory = (options: PresenceStoreFactoryOptions) => Promise<PresenceStoreHarness>;

const T = 1_900_000_000_000;
const TTL = 10_000;

const sorted = (map: ReadonlyMap<string, number>) => Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** The contract of PresenceStore, run against every implementation. */
export function runPresenceStoreCases(name: string, factory: PresenceStoreFactory): void {
  describe(`PresenceStore contract: ${name}`, () => {
    let harness: PresenceStoreHarness;
    let a: PresenceStore;
    let b: PresenceStore;
    let clock: number;

    beforeEach(async () => {
      clock = T;
      harness = await factory({ podTtlMs: TTL, now: () => clock });
      [a, b] = harness.stores;
    });
    afterEach(async () => {
      for (const store of harness.stores) await store.close();
      await harness.cleanup();
    });

    it('lists pods alive with their reported connections', async () => {
      await a.heartbeat('pod-1', 3);
      await b.heartbeat('pod-2', 0);
      await a.heartbeat('pod-1', 4);
      expect(sorted(await b.livePods())).toEqual({ 'pod-1': 4, 'pod-2': 0 });
      expect(await a.deadPods()).toEqual([]);
    });

    it('counts a pod as alive while its heartbeat is younger than the TTL', async () => {
      await a.heartbeat('pod-1', 1);
      clock = T + TTL - 1;
      expect(sorted(await a.livePods())).toEqual({ 'pod-1': 1 });
      clock = T + TTL;
      expect(sorted(await a.livePods())).toEqual({});
      expect(await a.deadPods()).toEqual(['pod-1']);
      await b.heartbeat('pod-1', 2);
      expect(sorted(await a.livePods())).toEqual({ 'pod-1': 2 });
      expect(await a.deadPods()).toEqual([]);
    });

    it('restores a pod\'s counts (after the store lost them), so the per-user limit holds again', async () => {
      await a.heartbeat('pod-1', 3);
      await a.restore('pod-1', new Map([['alice', 2], ['bob', 1]]));
      expect(sorted(await b.connectionsOf('alice'))).toEqual({ 'pod-1': 2 });
      expect(await b.tryReserve('pod-2', 'alice', 3)).toBe(true);
      expect(await b.tryReserve('pod-2', 'alice', 3)).toBe(false);
      // Restoring again sets, it does not add.
      await a.restore('pod-1', new Map([['alice', 2]]));
      expect(sorted(await b.connectionsOf('alice'))).toEqual({ 'pod-1': 2, 'pod-2': 1 });
    });

    it('holds a per-user limit across pods and frees a slot on release', async () => {
      await a.heartbeat('pod-1', 0);
      await b.heartbeat('pod-2', 0);
      expect(await a.tryReserve('pod-1', 'alice', 3)).toBe(true);
      expect(await a.tryReserve('pod-1', 'alice', 3)).toBe(true);
      expect(await b.tryReserve('pod-2', 'alice', 3)).toBe(true);
      expect(await a.tryReserve('pod-1', 'alice', 3)).toBe(false);
      expect(await b.tryReserve('pod-2', 'alice', 3)).toBe(false);
      expect(await b.tryReserve('pod-2', 'bob', 3)).toBe(true);
      expect(sorted(await b.connectionsOf('alice'))).toEqual({ 'pod-1': 2, 'pod-2': 1 });
      expect(sorted(await a.connectionsOf('bob'))).toEqual({ 'pod-2': 1 });
      expect(sorted(await a.connectionsOf('carol'))).toEqual({});

      await a.release('pod-1', 'alice');
      expect(await b.tryReserve('pod-2', 'alice', 3)).toBe(true);
      expect(sorted(await a.connectionsOf('alice'))).toEqual({ 'pod-1': 1, 'pod-2': 2 });
      expect(await a.tryReserve('pod-1', 'alice', 0)).toBe(false);
    });

    it('never counts below zero', async () => {
      await a.heartbeat('pod-1', 0);
      await a.release('pod-1', 'nobody');
      expect(await a.tryReserve('pod-1', 'alice', 1)).toBe(true);
      await a.release('pod-1', 'alice');
      await a.release('pod-1', 'alice');
      expect(sorted(await a.connectionsOf('alice'))).toEqual({});
      expect(await a.tryReserve('pod-1', 'alice', 1)).toBe(true);
      expect(await b.tryReserve('pod-1', 'alice', 1)).toBe(false);
    });

    it('lets exactly `limit` of many concurrent reservations through', async () => {
      await a.heartbeat('pod-1', 0);
      await b.heartbeat('pod-2', 0);
      const attempts = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a.tryReserve('pod-1', 'alice', 10) : b.tryReserve('pod-2', 'alice', 10)));
      const results = await Promise.all(attempts);
      expect(results.filter(Boolean)).toHaveLength(10);
      const counts = await a.connectionsOf('alice');
      expect([...counts.values()].reduce((sum, n) => sum + n, 0)).toBe(10);
    });

    it('stops counting a dead pod at once, and reaps it only while it is dead', async () => {
      await a.heartbeat('pod-1', 0);
      await b.heartbeat('pod-2', 2);
      expect(await b.tryReserve('pod-2', 'alice', 2)).toBe(true);
      expect(await b.tryReserve('pod-2', 'alice', 2)).toBe(true);
      expect(await a.tryReserve('pod-1', 'alice', 2)).toBe(false);

      clock = T + TTL;
      await a.heartbeat('pod-1', 0);
      expect(sorted(await a.connectionsOf('alice'))).toEqual({});
      expect(await a.tryReserve('pod-1', 'alice', 2)).toBe(true);
      expect(await a.tryReserve('pod-1', 'alice', 2)).toBe(true);
      expect(await a.tryReserve('pod-1', 'alice', 2)).toBe(false);
      expect(sorted(await a.livePods())).toEqual({ 'pod-1': 0 });
      expect(await a.deadPods()).toEqual(['pod-2']);

      expect(await a.reapDeadPod('pod-1')).toBe(false);
      expect(sorted(await a.connectionsOf('alice'))).toEqual({ 'pod-1': 2 });
      expect(await a.reapDeadPod('pod-2')).toBe(true);
      expect(await a.deadPods()).toEqual([]);
      await b.heartbeat('pod-2', 0);
      expect(sorted(await a.connectionsOf('alice'))).toEqual({ 'pod-1': 2 });
      expect(sorted(await a.livePods())).toEqual({ 'pod-1': 0, 'pod-2': 0 });
    });

    it('lets a pod whose heartbeat lapsed count its own connections when it reserves', async () => {
      await a.heartbeat('pod-1', 0);
      expect(await a.tryReserve('pod-1', 'alice', 2)).toBe(true);
      clock = T + TTL;
      expect(await a.tryReserve('pod-1', 'alice', 1)).toBe(false);
      expect(await a.tryReserve('pod-1', 'alice', 2)).toBe(true);
      expect(await a.deadPods()).toEqual(['pod-1']);
    });

    it('registers a pod that reserves before its first heartbeat, so it can be reaped', async () => {
      expect(await a.tryReserve('pod-3', 'alice', 5)).toBe(true);
      expect(sorted(await b.livePods())).toEqual({ 'pod-3': 0 });
      expect(sorted(await b.connectionsOf('alice'))).toEqual({ 'pod-3': 1 });
      clock = T + TTL;
      expect(await b.deadPods()).toEqual(['pod-3']);
      expect(await b.reapDeadPod('pod-3')).toBe(true);
      clock = T;
      expect(sorted(await b.connectionsOf('alice'))).toEqual({});
    });

    it('removes every entry of a pod on removePod, leaving the other pods alone', async () => {
      await a.heartbeat('pod-1', 2);
      await b.heartbeat('pod-2', 1);
      await a.tryReserve('pod-1', 'alice', 5);
      await a.tryReserve('pod-1', 'bob', 5);
      await b.tryReserve('pod-2', 'alice', 5);
      await b.removePod('pod-1');
      expect(sorted(await a.livePods())).toEqual({ 'pod-2': 1 });
      expect(sorted(await a.connectionsOf('alice'))).toEqual({ 'pod-2': 1 });
      expect(sorted(await a.connectionsOf('bob'))).toEqual({});
      await a.removePod('pod-1');
      await a.removePod('pod-2');
      expect(sorted(await a.livePods())).toEqual({});
      expect(await a.deadPods()).toEqual([]);
      expect(sorted(await a.connectionsOf('alice'))).toEqual({});
    });

    it('handles odd user and pod names', async () => {
      const users = ['user:with:colons {x} ü 🙂', '__proto__', 'constructor', 'pod:p'];
      const pods = ['pod:{a}', 'pod b', 'user:x'];
      for (const pod of pods) await a.heartbeat(pod, 0);
      for (const user of users) for (const pod of pods) expect(await b.tryReserve(pod, user, 3)).toBe(true);
      for (const user of users) {
        expect(sorted(await a.connectionsOf(user)), user).toEqual({ 'pod b': 1, 'pod:{a}': 1, 'user:x': 1 });
        expect(await a.tryReserve('pod b', user, 3)).toBe(false);
      }
      await a.removePod('pod:{a}');
      await a.release('user:x', '__proto__');
      expect(sorted(await a.connectionsOf('__proto__'))).toEqual({ 'pod b': 1 });
      expect(sorted(await a.connectionsOf('constructor'))).toEqual({ 'pod b': 1, 'user:x': 1 });
    });

    it('rejects malformed arguments', async () => {
      await expect(a.tryReserve('pod-1', 'alice', -1)).rejects.toThrow(RangeError);
      await expect(a.tryReserve('pod-1', 'alice', 1.5)).rejects.toThrow(RangeError);
      await expect(a.tryReserve('', 'alice', 1)).rejects.toThrow(RangeError);
      await expect(a.tryReserve('pod-1', '', 1)).rejects.toThrow(RangeError);
      await expect(a.heartbeat('pod-1', -1)).rejects.toThrow(RangeError);
      await expect(a.reapDeadPod('')).rejects.toThrow(RangeError);
      expect(sorted(await a.livePods())).toEqual({});
    });
  });
}
