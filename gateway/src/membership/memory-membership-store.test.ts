import { describe, expect, it } from 'vitest';
import { runMembershipStoreCases } from './membership-store.case.js';
import { createMemoryMembershipStore } from './memory-membership-store.js';

runMembershipStoreCases('memory', async (options) => ({ store: createMemoryMembershipStore(options), cleanup: async () => {} }));

describe('createMemoryMembershipStore', () => {
  it('rejects a TTL that is not a positive integer', () => {
    expect(() => createMemoryMembershipStore({ ttlSeconds: 0 })).toThrow(RangeError);
    expect(() => createMemoryMembershipStore({ ttlSeconds: 1.5 })).toThrow(RangeError);
  });
});
