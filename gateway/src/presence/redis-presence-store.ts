import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.js';
import { presenceKeys } from './presence-keys.js';
import { assertCount, assertPod, assertPresenceOptions, assertUser, type PresenceOptions } from './presence-options.js';
import type { PresenceStore } from './presence-store.js';

export interface RedisPresenceStoreOptions extends PresenceOptions {
  /** A shared client, owned by the caller: `close()` leaves it open. Must not use ioredis `keyPrefix`. */
  readonly redis: Redis;
  /** Prepended to every key, e.g. `orgcast:`. */
  readonly keyPrefix: string;
}

/** KEYS = pods, connections; ARGV = pod, now, connections. */
const HEARTBEAT = new LuaScript(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
`);

/** KEYS = pods, connections; ARGV = alive-after ms. Returns {pod, connections, ...} of live pods. */
const LIVE_PODS = new LuaScript(`
local out = {}
for _, pod in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')) do
  out[#out + 1] = pod
  out[#out + 1] = redis.call('HGET', KEYS[2], pod) or '0'
end
return out
`);

/**
 * KEYS = pods, pod hash, user hash; ARGV = pod, user, limit, now, alive-after ms. Counts the user's
 * connections on live pods (and on the reserving pod itself, alive or not); below the limit, counts
 * one more in both hashes and registers a pod that never heartbeated. Returns 1 or 0.
 */
const TRY_RESERVE = new LuaScript(`
local counts = redis.call('HGETALL', KEYS[3])
local aliveAfter = tonumber(ARGV[5])
local total = 0
for i = 1, #counts, 2 do
  local pod = counts[i]
  local alive = pod == ARGV[1]
  if not alive then
    local at = redis.call('ZSCORE', KEYS[1], pod)
    alive = at and tonumber(at) > aliveAfter
  end
  if alive then total = total + tonumber(counts[i + 1]) end
end
if total >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], 'NX', ARGV[4], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
return 1
`);

/** KEYS = pod hash, user hash; ARGV = user, pod. Counts one less; a count reaching zero is deleted. */
const RELEASE = new LuaScript(`
local function decrement(key, field)
  local n = tonumber(redis.call('HGET', key, field) or '0')
  if n > 1 then redis.call('HINCRBY', key, field, -1) else redis.call('HDEL', key, field) end
end
decrement(KEYS[1], ARGV[1])
decrement(KEYS[2], ARGV[2])
return 1
`);

/** KEYS = pods, user hash; ARGV = alive-after ms. Returns {pod, count, ...} over live pods. */
const CONNECTIONS_OF = new LuaScript(`
local counts = redis.call('HGETALL', KEYS[2])
local aliveAfter = tonumber(ARGV[1])
local out = {}
for i = 1, #counts, 2 do
  local at = redis.call('ZSCORE', KEYS[1], counts[i])
  if at and tonumber(at) > aliveAfter then
    out[#out + 1] = counts[i]
    out[#out + 1] = counts[i + 1]
  end
end
return out
`);

/**
 * KEYS = pods, connections, pod hash; ARGV = pod, user hash key prefix, alive-after ms or '' for
 * unconditional. Deletes the pod's field from each of its users' hashes (keys built in the script,
 * same hash slot), its own hash, report and heartbeat. Returns 0 if skipped because alive, else 1.
 */
const REMOVE_POD = new LuaScript(`
if ARGV[3] ~= '' then
  local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if at and tonumber(at) > tonumber(ARGV[3]) then return 0 end
end
for _, user in ipairs(redis.call('HKEYS', KEYS[3])) do redis.call('HDEL', ARGV[2] .. user, ARGV[1]) end
redis.call('DEL', KEYS[3])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`);

/**
 * PresenceStore shared by every pod (keys in presence-keys.ts, all under `<prefix>{presence}:`):
 * a ZSET of pods scored by their last heartbeat, a HASH of the connection counts they report, and
 * two mirrored HASHes per pod (user -> count) and per user (pod -> count), kept equal by scripts.
 * Liveness is decided against the caller's clock (passed to every script), so pods need roughly
 * synchronised clocks: skew shifts the moment a dead pod stops counting by as much. Every call is one
 * script or command; `tryReserve` is atomic across pods. No key has a TTL: a dead pod's entries stop
 * counting at once and are deleted by `reapDeadPod`. `close()` does not quit the client.
 */
export function createRedisPresenceStore(options: RedisPresenceStoreOptions): PresenceStore {
  assertPresenceOptions(options);
  const { redis, podTtlMs } = options;
  const now = options.now ?? Date.now;
  const keys = presenceKeys(options.keyPrefix);
  const aliveAfter = (t: number): number => t - podTtlMs;
  const clock = (): number => Math.floor(now());

  const removePod = async (pod: string, onlyIfDead: boolean): Promise<boolean> => {
    assertPod(pod);
    const condition = onlyIfDead ? aliveAfter(clock()) : '';
    const removed = await REMOVE_POD.run(redis, [keys.pods, keys.connections, keys.pod(pod)], [pod, keys.userPrefix, condition]);
    return removed === 1;
  };

  return {
    async heartbeat(pod, connections) {
      assertPod(pod);
      assertCount('connections', connections);
      await HEARTBEAT.run(redis, [keys.pods, keys.connections], [pod, clock(), connections]);
    },

    async livePods() {
      return toCounts(await LIVE_PODS.run(redis, [keys.pods, keys.connections], [aliveAfter(clock())]));
    },

    async deadPods() {
      return redis.zrangebyscore(keys.pods, '-inf', aliveAfter(clock()));
    },

    async tryReserve(pod, userId, limit) {
      assertPod(pod);
      assertUser(userId);
      assertCount('limit', limit);
      const t = clock();
      const reserved = await TRY_RESERVE.run(redis, [keys.pods, keys.pod(pod), keys.user(userId)], [pod, userId, limit, t, aliveAfter(t)]);
      return reserved === 1;
    },

    async restore(pod, connections) {
      assertPod(pod);
      const pipeline = redis.pipeline();
      for (const [userId, count] of connections) {
        assertUser(userId);
        assertCount('count', count);
        pipeline.hset(keys.pod(pod), userId, count);
        pipeline.hset(keys.user(userId), pod, count);
      }
      await pipeline.exec();
    },

    async release(pod, userId) {
      assertPod(pod);
      assertUser(userId);
      await RELEASE.run(redis, [keys.pod(pod), keys.user(userId)], [userId, pod]);
    },

    async connectionsOf(userId) {
      assertUser(userId);
      return toCounts(await CONNECTIONS_OF.run(redis, [keys.pods, keys.user(userId)], [aliveAfter(clock())]));
    },

    async removePod(pod) {
      await removePod(pod, false);
    },

    reapDeadPod: (pod) => removePod(pod, true),

    async close() {
      // Nothing to release: the Redis client is shared and closed by its owner.
    },
  };
}

/** `{name, count, ...}` from a script as a Map. */
function toCounts(reply: unknown): Map<string, number> {
  if (!Array.isArray(reply)) throw new TypeError(`unexpected Redis reply: ${typeof reply}`);
  const counts = new Map<string, number>();
  for (let i = 0; i + 1 < reply.length; i += 2) counts.set(String(reply[i]), Number(reply[i + 1]));
  return counts;
}
