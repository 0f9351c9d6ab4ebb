import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MembershipStore } from './membership-store.js';

export interface MembershipStoreFactoryOptions {
  readonly ttlSeconds: number;
  /** Wall clock the store must use for expiry decisions. */
  readonly now: () => number;
}

export type MembershipStoreFactory = (options: MembershipStoreFactoryOptions) => Promise<{ store: MembershipStore; cleanup: () => Promise<void> }>;

const T = 1_900_000_000_000;
const TTL_SECONDS = 3_600;

/** The contract of MembershipStore, run against every implementation. */
export function runMembershipStoreCases(name: string, factory: MembershipStoreFactory): void {
  describe(`MembershipStore contract: ${name}`, () => {
    let store: MembershipStore;
    let cleanup: () => Promise<void>;
    let clock: number;

    beforeEach(async () => {
      clock = T;
      ({ store, cleanup } = await factory({ ttlSeconds: TTL_SECONDS, now: () => clock }));
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it('grants exactly the claims when nothing was recorded', async () => {
      expect(await store.effectiveOrganizations('alice', ['a', 'b'], T)).toEqual(['a', 'b']);
      expect(await store.effectiveOrganizations('alice', [], undefined)).toEqual([]);
    });

    it('hides a removed organization from tokens issued before or at the removal', async () => {
      await store.recordRemoved('b', 'alice', T);
      expect(await store.effectiveOrganizations('alice', ['a', 'b', 'c'], T - 60_000)).toEqual(['a', 'c']);
      expect(await store.effectiveOrganizations('alice', ['a', 'b', 'c'], T)).toEqual(['a', 'c']);
    });

    it('trusts a token issued after the removal', async () => {
      await store.recordRemoved('b', 'alice', T);
      expect(await store.effectiveOrganizations('alice', ['a', 'b', 'c'], T + 1)).toEqual(['a', 'b', 'c']);
    });

    it('restores the organization after a later addition, in its claimed position', async () => {
      await store.recordRemoved('b', 'alice', T);
      await store.recordAdded('b', 'alice', T + 10);
      expect(await store.effectiveOrganizations('alice', ['a', 'b', 'c'], T - 60_000)).toEqual(['a', 'b', 'c']);
    });

    it('grants an added organization the token lacks, until a newer token says otherwise', async () => {
      await store.recordAdded('x', 'alice', T);
      expect(await store.effectiveOrganizations('alice', ['a'], T - 1)).toEqual(['a', 'x']);
      expect(await store.effectiveOrganizations('alice', ['a'], T)).toEqual(['a', 'x']);
      expect(await store.effectiveOrganizations('alice', ['a'], T + 1)).toEqual(['a']);
    });

    it('keeps an addition\'s position for the tokens it applies to, and drops it with a later removal', async () => {
      await store.recordAdded('x', 'alice', T, '1700000000000-3');
      await store.recordAdded('y', 'alice', T + 5);
      expect(await store.grantPositions('alice', T - 1)).toEqual(new Map([['x', '1700000000000-3']]));
      expect(await store.grantPositions('alice', T + 1)).toEqual(new Map());
      expect(await store.grantPositions('bob', undefined)).toEqual(new Map());
      // The record with a position still orders against others by its time.
      await store.recordRemoved('x', 'alice', T - 10);
      expect(await store.effectiveOrganizations('alice', [], T - 1)).toEqual(['x', 'y']);
      await store.recordRemoved('x', 'alice', T + 10);
      expect(await store.effectiveOrganizations('alice', [], T - 1)).toEqual(['y']);
      expect(await store.grantPositions('alice', T - 1)).toEqual(new Map());
      await store.recordAdded('x', 'alice', T + 20, '1700000000000-9');
      expect(await store.grantPositions('alice', undefined)).toEqual(new Map([['x', '1700000000000-9']]));
      clock = T + TTL_SECONDS * 1000 + 21;
      expect(await store.grantPositions('alice', undefined)).toEqual(new Map());
    });

    it('never lets an older change overwrite a newer one', async () => {
      await store.recordRemoved('b', 'alice', T + 10);
      await store.recordAdded('b', 'alice', T);
      expect(await store.effectiveOrganizations('alice', ['b'], T - 1)).toEqual([]);

      await store.recordAdded('x', 'alice', T + 10);
      await store.recordRemoved('x', 'alice', T);
      expect(await store.effectiveOrganizations('alice', [], T - 1)).toEqual(['x']);
    });

    it('breaks a tie of equal change times by arrival order', async () => {
      await store.recordRemoved('b', 'alice', T);
      await store.recordAdded('b', 'alice', T);
      expect(await store.effectiveOrganizations('alice', ['b'], T - 1)).toEqual(['b']);
      await store.recordRemoved('b', 'alice', T);
      expect(await store.effectiveOrganizations('alice', ['b'], T - 1)).toEqual([]);
    });

    it('applies every change to a token without an issue time', async () => {
      await store.recordRemoved('a', 'alice', T);
      await store.recordAdded('x', 'alice', T + 5_000);
      expect(await store.effectiveOrganizations('alice', ['a', 'b'], undefined)).toEqual(['b', 'x']);
    });

    it('keeps users and organizations apart', async () => {
      await store.recordRemoved('a', 'alice', T);
      expect(await store.effectiveOrganizations('bob', ['a'], T - 1)).toEqual(['a']);
      expect(await store.effectiveOrganizations('alice', ['a', 'b'], T - 1)).toEqual(['b']);
    });

    it('forgets changes older than the TTL', async () => {
      await store.recordRemoved('b', 'alice', T);
      await store.recordAdded('x', 'alice', T);
      clock = T + TTL_SECONDS * 1000 - 1;
      expect(await store.effectiveOrganizations('alice', ['a', 'b'], T - 1)).toEqual(['a', 'x']);
      clock = T + TTL_SECONDS * 1000 + 1;
      expect(await store.effectiveOrganizations('alice', ['a', 'b'], T - 1)).toEqual(['a', 'b']);
    });

    it('ignores a change that is already older than the TTL when it arrives', async () => {
      await store.recordRemoved('b', 'alice', T - TTL_SECONDS * 1000 - 1);
      expect(await store.effectiveOrganizations('alice', ['b'], undefined)).toEqual(['b']);
    });

    it('handles odd characters in user and organization ids', async () => {
      const user = 'user:with:colons and spaces ü 🙂';
      await store.recordRemoved('org:1 ü', user, T);
      await store.recordAdded('__proto__', user, T);
      await store.recordAdded('constructor', user, T + 1);
      await store.recordAdded('組織 🙂', user, T + 2);
      expect(await store.effectiveOrganizations(user, ['org:1 ü', 'plain'], T - 1)).toEqual(['plain', '__proto__', 'constructor', '組織 🙂']);
      expect(await store.effectiveOrganizations('user:with:colons', ['org:1 ü'], T - 1)).toEqual(['org:1 ü']);
      expect(await store.effectiveOrganizations('user', ['org:1 ü'], T - 1)).toEqual(['org:1 ü']);
    });

    it('keeps the order of the claims and appends additions oldest first', async () => {
      await store.recordAdded('z', 'alice', T + 2);
      await store.recordAdded('y', 'alice', T + 1);
      await store.recordAdded('a', 'alice', T + 3);
      await store.recordAdded('w', 'alice', T + 2);
      expect(await store.effectiveOrganizations('alice', ['c', 'a', 'b'], T)).toEqual(['c', 'a', 'b', 'y', 'w', 'z']);
    });

    it('rejects a change time that is not a number', async () => {
      await expect(store.recordRemoved('a', 'alice', Number.NaN)).rejects.toThrow(RangeError);
    });
  });
}
