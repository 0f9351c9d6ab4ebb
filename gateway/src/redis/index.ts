export { createRedis, pingWithTimeout, quitRedis, RedisOptionsError, type CreateRedisOptions } from './create-redis.js';
export { backoffDelay, type BackoffPolicy } from './backoff.js';
export { LuaScript } from './lua-script.js';
