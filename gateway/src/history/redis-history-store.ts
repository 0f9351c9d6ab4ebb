import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.js';
import { MAX_EVENT_ID, MIN_EVENT_ID } from './event-id.js';
import { reachesBack } from './history-completeness.js';
import { historyCopyKey, historyDedupeKey, historyLastKey, historyStreamKey } from './history-keys.js';
import { ageCutoffMs, assertAppendOptions, assertDedupeKey, assertHistoryLimits, assertOrganizationId, assertReadArguments, assertRecord, droppedBeforeCutoffId, type HistoryLimits } from './history-options.js';
import type { HistoryEntry, HistoryStore } from './history-store.js';
import { HistoryOrderError, StaleRunError } from './history-order-error.js';

export interface RedisHistoryStoreOptions extends HistoryLimits {
  /** A shared client, owned by the caller: `close()` leaves it open. Must not use ioredis `keyPrefix`. */
  readonly redis: Redis;
  /** Prepended to every key, e.g. `orgcast:`. */
  readonly keyPrefix: string;
  /** Wall-clock milliseconds for age trimming (ids themselves come from the Redis server's clock). */
  readonly now?: () => number;
}

/** At most this many entries are trimmed by one append (only exceeded after `maxLength` was lowered). */
const MAX_TRIM_PER_APPEND = 1000;

/**
 * `stream_info(key)`: the fields of XINFO STREAM that the scripts need (RESP2 flat list in Lua).
 * Redis 7.0 keeps `max-deleted-entry-id` for XDEL only; these scripts set it on every trim with
 * XSETID, so it is the highest id ever dropped, stored in the stream itself and expiring with it.
 */
const STREAM_INFO = `
local function stream_info(key)
  local raw = redis.call('XINFO', 'STREAM', key)
  local info = {}
  for i = 1, #raw, 2 do info[raw[i]] = raw[i + 1] end
  return info
end
`;

/** `<id> <rest>` → id and rest (`rest` empty when there is no space). */
const SPLIT = `
local function split(text)
  local space = string.find(text, ' ', 1, true)
  if not space then return text, '' end
  return string.sub(text, 1, space - 1), string.sub(text, space + 1)
end
`;

/**
 * Age trimming (ARGV cut id `<ms>-0` and the dropped marker, '' for none): drops the entries older
 * than the cut and records, as the highest dropped id, the marker just below the cut, or the last
 * id when that is older (nothing after it can have been dropped). Runs after the length trim, which
 * only drops older entries, so the recorded id never goes backwards.
 */
const TRIM_AGE = `
local function trim_age(key, cut, marker, last_id)
  if cut == '' then return end
  local removed = redis.call('XTRIM', key, 'MINID', cut)
  if removed > 0 then
    if not last_id then last_id = stream_info(key)['last-generated-id'] end
    if tonumber(string.match(last_id, '^%d+')) < tonumber(string.match(cut, '^%d+')) then marker = last_id end
    redis.call('XSETID', key, last_id, 'MAXDELETEDID', marker)
  end
end
`;

/**
 * KEYS = stream, dedupe key, last (the organization's last id and append token), copy key (of this
 * token). ARGV = event type, data JSON, timestamp ms, max length, dedupe TTL s, stream TTL ms,
 * dedupe mode (check|record), token, after token ('' for none), age cut id, age marker ('' for none),
 * sequencer run ('' for none).
 * Returns {'<id> <prev>', 1, fields stored under the id (absent once trimmed)} for a known dedupe
 * key (check mode: its newest copy; record mode: the copy this token appended, if any), {'', 2} when the last append did not carry the after token,
 * {'', 3} when an append of a later run came first (this one is a stale sequencer's),
 * else appends (field p = prev), trims exactly to the max length (recording the last dropped id)
 * and by age, refreshes the TTLs and returns {'<id> <prev>', 0}.
 *
 * The dedupe key holds `<id> <prev> <token>` of the newest entry appended under it, then, once a
 * byte-identical copy was appended after the first, `|<id> <prev> <token>` of the first; each copy
 * after the first is also recorded under its own token (copy key), so a retry of any copy finds it.
 */
const APPEND = new LuaScript(`${STREAM_INFO}${SPLIT}${TRIM_AGE}
local function triple(text)
  local id, rest = split(text)
  local prev, token = split(rest)
  if prev == '' then prev = '0-0' end
  return id, prev, token
end
-- A duplicate: its id and prev, and the fields stored under the id (none once it was trimmed).
local function duplicate(id, prev)
  local stored = redis.call('XRANGE', KEYS[1], id, id)
  if stored[1] then return {id .. ' ' .. prev, 1, stored[1][2]} end
  return {id .. ' ' .. prev, 1}
end
local known = redis.call('GET', KEYS[2])
local first = nil
if known then
  local bar = string.find(known, '|', 1, true)
  local newest = known
  if bar then
    newest = string.sub(known, 1, bar - 1)
    first = string.sub(known, bar + 1)
  end
  local known_id, known_prev, known_token = triple(newest)
  if ARGV[7] == 'check' or (ARGV[8] ~= '' and known_token == ARGV[8]) then return duplicate(known_id, known_prev) end
  if ARGV[8] ~= '' then
    if first then
      local first_id, first_prev, first_token = triple(first)
      if first_token == ARGV[8] then return duplicate(first_id, first_prev) end
    end
    local copy = redis.call('GET', KEYS[4])
    if copy then
      local copy_id, copy_prev = split(copy)
      return duplicate(copy_id, copy_prev)
    end
  end
  if not first then first = newest end
end
local prev, last_token, last_run = '0-0', '', ''
local last = redis.call('GET', KEYS[3])
if last then
  local rest
  prev, rest = split(last)
  last_token, last_run = split(rest)
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  prev = stream_info(KEYS[1])['last-generated-id']
end
if ARGV[12] ~= '' and last_run ~= '' and tonumber(last_run) > tonumber(ARGV[12]) then return {'', 3} end
if ARGV[9] ~= '' and last_token ~= ARGV[9] then return {'', 2} end
local run = ARGV[12]
if run == '' or (last_run ~= '' and tonumber(last_run) > tonumber(run)) then run = last_run end
local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[1], 'd', ARGV[2], 't', ARGV[3], 'p', prev)
local length = redis.call('XLEN', KEYS[1])
local excess = length - tonumber(ARGV[4])
if excess > 0 then
  if excess > ${MAX_TRIM_PER_APPEND} then excess = ${MAX_TRIM_PER_APPEND} end
  local dropped = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
  redis.call('XTRIM', KEYS[1], 'MAXLEN', length - #dropped)
  redis.call('XSETID', KEYS[1], id, 'MAXDELETEDID', dropped[#dropped][1])
end
trim_age(KEYS[1], ARGV[10], ARGV[11], id)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
local last_value = id .. ' ' .. ARGV[8]
if run ~= '' then last_value = last_value .. ' ' .. run end
redis.call('SET', KEYS[3], last_value, 'PX', ARGV[6])
if not known then
  redis.call('SET', KEYS[2], id .. ' ' .. prev .. ' ' .. ARGV[8], 'EX', ARGV[5])
else
  redis.call('SET', KEYS[2], id .. ' ' .. prev .. ' ' .. ARGV[8] .. '|' .. first, 'EX', ARGV[5])
  if ARGV[8] ~= '' then redis.call('SET', KEYS[4], id .. ' ' .. prev, 'EX', ARGV[5]) end
end
return {id .. ' ' .. prev, 0}
`);

/**
 * KEYS = stream; ARGV = exclusive start id ('' for none), count, age cut id, age marker. Trims by
 * age, then returns {0} when the stream does not exist, else {1, max dropped id, first id or '',
 * entries}.
 */
const READ_AFTER = new LuaScript(`${STREAM_INFO}${TRIM_AGE}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
trim_age(KEYS[1], ARGV[3], ARGV[4], nil)
local info = stream_info(KEYS[1])
local first = ''
if info['first-entry'] then first = info['first-entry'][1] end
local entries = {}
if ARGV[1] ~= '' then entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2]) end
return {1, info['max-deleted-entry-id'], first, entries}
`);

/** KEYS = stream, last. The last generated id (it survives trimming), or 0-0 when the stream does not exist. */
const LAST_ID = new LuaScript(`${STREAM_INFO}${SPLIT}
local last = redis.call('GET', KEYS[2])
if last then
  local id = split(last)
  return id
end
if redis.call('EXISTS', KEYS[1]) == 0 then return '${MIN_EVENT_ID}' end
return stream_info(KEYS[1])['last-generated-id']
`);

/**
 * HistoryStore shared by every pod, on Redis Streams. Per organization (see history-keys.ts):
 * - `<prefix>history:{<org>}`: a stream of fields `e` (event type), `d` (data JSON), `t` (publish
 *   ms), `p` (prev); ids are generated by XADD, so they come from the Redis server's clock and
 *   increase per organization whichever pod appends. Trimmed exactly to `maxLength` on append, and
 *   by id time on append and read; the highest dropped id (or, for the age cut, the marker below
 *   it) is kept in the stream's `max-deleted-entry-id` (XSETID), so `complete` never errs on the
 *   unsafe side. Expires `2 * maxAgeMs` after the last append (refreshed by each append).
 * - `<prefix>history-last:{<org>}`: `<last id> <append token> <run>`, same TTL (prev and the
 *   conditions of the next append without reading the stream; the run is the newest sequencer run
 *   that appended, an older one is refused).
 * - `<prefix>{sequencer}:run`: the counter that numbers sequencer runs.
 * - `<prefix>dedupe:{<org>}:<dedupeKey>`: `<id> <prev> <token>` of the newest entry appended under
 *   it (then `|` and the first's, once it has copies), for `dedupeTtlSeconds`.
 * - `<prefix>dedupe-copy:{<org>}:<token>#<dedupeKey>`: `<id> <prev>` of a later identical copy
 *   (record mode), so that a retry of its append is recognised; same TTL.
 * Every call is one script (one round trip, atomic, keys of one hash slot). `close()` does not quit
 * the client: it belongs to the caller.
 */
export function createRedisHistoryStore(options: RedisHistoryStoreOptions): HistoryStore {
  assertHistoryLimits(options);
  const { redis, keyPrefix, maxLength, maxAgeMs, dedupeTtlSeconds } = options;
  const now = options.now ?? Date.now;
  const streamTtlMs = 2 * maxAgeMs;

  /** ARGV of the age cut: the cut id and the dropped marker, or two empty strings when nothing is old enough. */
  const ageArguments = (): [string, string] => {
    const cutoffMs = ageCutoffMs(now(), maxAgeMs);
    return cutoffMs <= 0 ? ['', ''] : [`${cutoffMs}-0`, droppedBeforeCutoffId(cutoffMs)];
  };

  return {
    async append(organizationId, dedupeKey, record, appendOptions = {}) {
      assertOrganizationId(organizationId);
      assertDedupeKey(dedupeKey);
      assertAppendOptions(appendOptions);
      assertRecord(record);
      const keys = [
        historyStreamKey(keyPrefix, organizationId), historyDedupeKey(keyPrefix, organizationId, dedupeKey), historyLastKey(keyPrefix, organizationId),
        historyCopyKey(keyPrefix, organizationId, dedupeKey, appendOptions.token ?? ''),
      ];
      const args = [
        record.eventType, record.dataJson, Math.trunc(record.timestampMs), maxLength, dedupeTtlSeconds, streamTtlMs,
        appendOptions.dedupe ?? 'check', appendOptions.token ?? '', appendOptions.afterToken ?? '', ...ageArguments(),
        appendOptions.run === undefined ? '' : String(appendOptions.run),
      ];
      const [idAndPrev, outcome, fields] = asArray(await APPEND.run(redis, keys, args));
      if (outcome === 2) throw new HistoryOrderError(organizationId, appendOptions.afterToken ?? '');
      if (outcome === 3) throw new StaleRunError(organizationId, appendOptions.run ?? 0);
      const [id, prev] = asString(idAndPrev).split(' ') as [string, string | undefined];
      const result = { id, prev: prev === '' || prev === undefined ? undefined : prev, duplicate: outcome === 1 };
      if (fields === undefined) return result;
      const { eventType, dataJson, timestampMs } = decodeEntry([id, fields]);
      return { ...result, stored: { eventType, dataJson, timestampMs } };
    },

    async readAfter(organizationId, afterId, limit) {
      assertOrganizationId(organizationId);
      assertReadArguments(afterId, limit);
      const start = afterId === MAX_EVENT_ID ? '' : afterId;
      const reply = asArray(await READ_AFTER.run(redis, [historyStreamKey(keyPrefix, organizationId)], [start, limit + 1, ...ageArguments()]));
      if (reply[0] === 0) return { entries: [], complete: reachesBack(afterId, { stored: false, maxDroppedId: MIN_EVENT_ID, firstId: undefined }), more: false };
      const first = asString(reply[2]);
      const raw = asArray(reply[3]);
      return {
        entries: raw.slice(0, limit).map(decodeEntry),
        complete: reachesBack(afterId, { stored: true, maxDroppedId: asString(reply[1]), firstId: first === '' ? undefined : first }),
        more: raw.length > limit,
      };
    },

    async lastId(organizationId) {
      assertOrganizationId(organizationId);
      return asString(await LAST_ID.run(redis, [historyStreamKey(keyPrefix, organizationId), historyLastKey(keyPrefix, organizationId)], []));
    },

    async nextRun() {
      return Number(await redis.incr(`${keyPrefix}{sequencer}:run`));
    },

    async close() {
      // Nothing to release: the Redis client is shared and closed by its owner.
    },
  };
}

/** An XRANGE item `[id, [field, value, ...]]` as written by APPEND. */
function decodeEntry(item: unknown): HistoryEntry {
  const [id, fields] = asArray(item);
  const values = new Map<string, string>();
  const flat = asArray(fields);
  for (let i = 0; i + 1 < flat.length; i += 2) values.set(asString(flat[i]), asString(flat[i + 1]));
  return { id: asString(id), prev: values.get('p'), eventType: values.get('e') ?? '', dataJson: values.get('d') ?? 'null', timestampMs: Number(values.get('t') ?? 0) };
}

function asArray(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`unexpected Redis reply: ${typeof value}`);
  return value;
}

function asString(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`unexpected Redis reply: ${typeof value}`);
  return value;
}
