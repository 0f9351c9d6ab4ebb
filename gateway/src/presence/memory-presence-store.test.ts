import { describe, expect, it } from 'vitest';
import { createMemoryPresenceStore } from './memory-presence-store.js';
import { runPresenceStoreCases } from './presence-store.case.js';

runPresenceStoreCases('memory', async (options) => {
  const store = createMemoryPresenceStore(options);
  return { stores: [store, store], cleanup: async () => {} };
});

describe('createMemoryPresenceStore', () => {
  it('rejects a TTL that is not a positive integer', () => {
    expect(() => createMemoryPresenceStore({ podTtlMs: 0 })).toThrow(RangeError);
    expect(() => createMemoryPresenceStore({ podTtlMs: 1.5 })).toThrow(RangeError);
  });
});
