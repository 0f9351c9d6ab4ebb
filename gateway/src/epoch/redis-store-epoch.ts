import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.js';
import type { StoreEpoch } from './store-epoch.js';

/**
 * KEYS = epoch hash {id, since, clock}; ARGV = a fresh id, the id this pod knows ('' at first), the
 * last clock this pod saw. A missing hash (the data is gone) starts a new epoch now (server time);
 * so does a clock that did not move past what this pod saw (the data was rolled back to an older
 * snapshot). ARGV[4] = 1 when this pod saw a loss: the epoch records it (`lost`, once). Returns
 * {id, since, clock, lost or ''}.
 */
const CHECK = new LuaScript(`
local t = redis.call('TIME')
local now = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local id = redis.call('HGET', KEYS[1], 'id')
if id then
  local clock = redis.call('HINCRBY', KEYS[1], 'clock', 1)
  if not (ARGV[2] ~= '' and id == ARGV[2] and clock <= tonumber(ARGV[3])) then
    if ARGV[4] == '1' then redis.call('HSETNX', KEYS[1], 'lost', redis.call('HGET', KEYS[1], 'since')) end
    return {id, redis.call('HGET', KEYS[1], 'since'), clock, redis.call('HGET', KEYS[1], 'lost') or ''}
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'since', now, 'clock', 1)
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'lost', now)
  return {ARGV[1], now, 1, now}
end
return {ARGV[1], now, 1, ''}
`);

/**
 * The epoch of a Redis store, in `<prefix>epoch`. Every pod checks it about once a second: it adds
 * one to the epoch's clock and remembers the result. The epoch is new when the key is gone, or when
 * its clock is not ahead of what this pod saw last (a restore from an older snapshot); every pod then
 * sees an id other than the one it knows.
 */
export function createRedisStoreEpoch(options: { readonly redis: Redis; readonly keyPrefix: string }): StoreEpoch {
  const key = `${options.keyPrefix}epoch`;
  let known: { id: string; sinceMs: number; clock: number; lostAtMs: number | undefined } | undefined;
  const run = async (sawLoss: boolean): Promise<[string, string, number, string]> => CHECK.run(options.redis, [key], [randomBytes(8).toString('hex'), known?.id ?? '', known?.clock ?? 0, sawLoss ? '1' : '0']) as Promise<[string, string, number, string]>;
  return {
    sinceMs: () => known?.sinceMs ?? 0,
    lostAtMs: () => known?.lostAtMs,
    async check() {
      let [id, since, clock, lostAt] = await run(false);
      const lost = known !== undefined && id !== known.id;
      // Another pod (or a fresh one) may have started the new epoch: this pod saw the loss, record it.
      if (lost && lostAt === '') [id, since, clock, lostAt] = await run(true);
      known = { id, sinceMs: Number(since), clock: Number(clock), lostAtMs: lostAt === '' ? undefined : Number(lostAt) };
      return lost;
    },
  };
}
