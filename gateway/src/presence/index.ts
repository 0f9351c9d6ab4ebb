export type { PresenceStore } from './presence-store.js';
export type { PresenceOptions } from './presence-options.js';
export { createMemoryPresenceStore, type MemoryPresenceStoreOptions } from './memory-presence-store.js';
export { createRedisPresenceStore, type RedisPresenceStoreOptions } from './redis-presence-store.js';
