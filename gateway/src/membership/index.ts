export type { MembershipStore } from './membership-store.js';
export { createMemoryMembershipStore, type MemoryMembershipStoreOptions } from './memory-membership-store.js';
export { createRedisMembershipStore, type RedisMembershipStoreOptions } from './redis-membership-store.js';
