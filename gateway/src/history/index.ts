export type { AppendResult, HistoryEntry, HistoryRecord, HistoryStore, ReadResult } from './history-store.js';
export { compareEventIds, eventIdTimeMs, isEventId, MAX_EVENT_ID, MIN_EVENT_ID } from './event-id.js';
export type { HistoryLimits } from './history-options.js';
export { createMemoryHistoryStore, type MemoryHistoryStoreOptions } from './memory-history-store.js';
export { createRedisHistoryStore, type RedisHistoryStoreOptions } from './redis-history-store.js';
export { HistoryOrderError } from './history-order-error.js';
