import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.js';
import type { MembershipStore } from './membership-store.js';
import { applyMembershipRecords, assertChangeTime, assertTtlSeconds, grantPositionsOf, type MembershipRecord } from './membership-overrides.js';
import { storeErrorOf } from '../redis/store-error.js';

export interface RedisMembershipStoreOptions {
  /** A shared client, owned by the caller: `close()` leaves it open. */
  readonly redis: Redis;
  /** Prepended to every key, e.g. `orgcast:`. */
  readonly keyPrefix: string;
  /** How long a change matters: at least the longest token lifetime. */
  readonly ttlSeconds: number;
  /** Wall-clock milliseconds; injectable for tests. */
  readonly now?: () => number;
}

/** Hashes with more fields than this are pruned of expired records on write. */
const PRUNE_ABOVE_FIELDS = 32;

/**
 * Compare-and-set of one record. KEYS[1] = user hash; ARGV = organization, the value (`+<ms>`,
 * `+<ms>@<position>` or `-<ms>`), change ms, ttl seconds, expiry cutoff ms. An older change never
 * replaces a newer one (equal times: the later arrival wins). Returns 1 when written, 0 when ignored.
 */
const RECORD_CHANGE = new LuaScript(`
local key = KEYS[1]
local at = tonumber(ARGV[3])
local current = redis.call('HGET', key, ARGV[1])
if current then
  local currentAt = tonumber(string.match(current, '^[+-](-?%d+)'))
  if currentAt ~= nil and currentAt > at then return 0 end
end
redis.call('HSET', key, ARGV[1], ARGV[2])
if redis.call('HLEN', key) > ${PRUNE_ABOVE_FIELDS} then
  local cutoff = tonumber(ARGV[5])
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local recordAt = tonumber(string.match(all[i + 1], '^[+-](-?%d+)'))
    if recordAt == nil or recordAt < cutoff then redis.call('HDEL', key, all[i]) end
  end
end
redis.call('EXPIRE', key, ARGV[4])
return 1
`);

/**
 * MembershipStore shared by every pod. One hash per user, `<prefix>membership:<userId>`, field =
 * organization id, value = `+<ms>` (added), `+<ms>@<position>` (added, with its position in the
 * organization's sequence) or `-<ms>` (removed). Each write is an atomic compare-and-set (Lua,
 * one key: Redis Cluster safe) that also resets the key's expiry to the TTL;
 * a record older than the TTL is ignored on read, so per-field expiry is not needed. A read is one
 * HGETALL. `close()` does not quit the client: it belongs to the caller.
 */
export function createRedisMembershipStore(options: RedisMembershipStoreOptions): MembershipStore {
  assertTtlSeconds(options.ttlSeconds);
  const { redis, keyPrefix, ttlSeconds } = options;
  const ttlMs = ttlSeconds * 1000;
  const now = options.now ?? Date.now;
  const keyOf = (userId: string): string => `${keyPrefix}membership:${userId}`;

  const record = async (organizationId: string, userId: string, sign: '+' | '-', atMs: number, position?: string): Promise<void> => {
    assertChangeTime(atMs);
    const notBefore = now() - ttlMs;
    if (atMs < notBefore) return;
    const at = String(Math.trunc(atMs));
    const value = position === undefined ? `${sign}${at}` : `${sign}${at}@${position}`;
    await RECORD_CHANGE.run(redis, [keyOf(userId)], [organizationId, value, at, ttlSeconds, String(Math.trunc(notBefore))]);
  };
  const recordsOf = async (userId: string): Promise<Record<string, string>> => {
    try {
      return await redis.hgetall(keyOf(userId));
    } catch (error) {
      throw storeErrorOf(error);
    }
  };

  return {
    recordRemoved: (organizationId, userId, atMs) => record(organizationId, userId, '-', atMs),
    recordAdded: (organizationId, userId, atMs, position) => record(organizationId, userId, '+', atMs, position),
    async effectiveOrganizations(userId, claimed, issuedAtMs) {
      return applyMembershipRecords(claimed, decodeRecords(await recordsOf(userId)), issuedAtMs, now() - ttlMs);
    },
    async grantPositions(userId, issuedAtMs) {
      return grantPositionsOf(decodeRecords(await recordsOf(userId)), issuedAtMs, now() - ttlMs);
    },
    async close() {
      // Nothing to release: the Redis client is shared and closed by its owner.
    },
  };
}

function* decodeRecords(fields: Record<string, string>): Generator<MembershipRecord> {
  for (const [organizationId, value] of Object.entries(fields)) {
    const sign = value.charAt(0);
    const at = value.indexOf('@');
    const atMs = Number(value.slice(1, at < 0 ? undefined : at));
    if ((sign !== '+' && sign !== '-') || !Number.isFinite(atMs) || value.length < 2 || at === 1) continue;
    yield { organizationId, added: sign === '+', atMs, position: at < 0 ? undefined : value.slice(at + 1) };
  }
}
