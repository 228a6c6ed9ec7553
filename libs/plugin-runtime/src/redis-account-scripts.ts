import { megabytes } from './megabytes'

/**
 * The Lua scripts every write a plugin makes to Redis goes through (`meta.cache` writes, a new
 * `utils.cursor`, and the reservation of a `meta.jobs` job), so a team's plugins together hold at most
 * PLUGIN_TEAM_REDIS_LIMIT_MB of it. Without a bound, one team's plugin setting values or enqueuing
 * jobs in a loop fills Redis, and with the `noeviction` policy BullMQ needs every queue write then
 * fails: no team's events could be captured.
 *
 * Each team has an account (libs/core redisKeys.pluginRedisAccount): a HASH of the bytes each of its
 * keys is accounted at, a ZSET of when the cache keys with a TTL expire, a ZSET of when to look again
 * whether a job is still there (BullMQ removes it in its own time), and the total. A write that would
 * take the total over the limit is refused (its caller gets the error) and changes nothing; a key
 * that expired or a job that is gone gives its bytes back at the next write of that team (at most
 * 100 jobs and 100 + twice the keys written expired keys per write, so a script stays short and a
 * team writing keys with a TTL never leaves more behind than it clears). Cache keys are accounted at
 * their key and value bytes plus KEY_OVERHEAD (Redis's own per-key cost and the account's), list
 * elements at their bytes plus ELEMENT_OVERHEAD, jobs at their data plus JOB_OVERHEAD (BullMQ's fields).
 *
 * The teams' totals are summed in one more key, the fleet's (redisKeys.pluginRedisFleetTotal), held
 * to PLUGIN_REDIS_LIMIT_MB: many teams (accounts) each within their own limit must not fill Redis
 * together either.
 *
 * KEYS: the account's sizes, expiries, checks and total, then the keys written. ARGV[1]: `<team
 * limit> <fleet limit> <fleet total key>` (limits in bytes, 0: none; the key shares the prefix's hash
 * tag, so the script may touch it), then what the operation takes.
 */
const KEY_OVERHEAD = 64
const ELEMENT_OVERHEAD = 16
const JOB_OVERHEAD = 512
/** How often a job still there is looked at again. */
const JOB_CHECK_MS = 60_000

const PRELUDE = `
local sizes, expiries, checks, totalKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local teamLimit, fleetLimit, fleetKey = string.match(ARGV[1], '^(%d+) (%d+) (.+)$')
local limit, fleetLimit = tonumber(teamLimit), tonumber(fleetLimit)
local total = tonumber(redis.call('GET', totalKey) or '0')
local startTotal = total
local fleet = tonumber(redis.call('GET', fleetKey) or '0')
local changed = false
local result
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function forget(key)
  local size = redis.call('HGET', sizes, key)
  if size then
    total = total - tonumber(size)
    changed = true
    redis.call('HDEL', sizes, key)
  end
  redis.call('ZREM', expiries, key)
  redis.call('ZREM', checks, key)
end
local function held(key)
  return tonumber(redis.call('HGET', sizes, key) or '0')
end
local function account(key, before, after)
  if after == before then return end
  total = total + after - before
  changed = true
  if after > 0 then redis.call('HSET', sizes, key, after) else
    redis.call('HDEL', sizes, key)
    redis.call('ZREM', expiries, key)
  end
end
-- Looks whether jobs are still there: those due (every write), or the longest unchecked (before a
-- refusal) but not those reserved in the last 10 s, whose add may not have reached BullMQ yet.
local function recheck(due)
  local upTo = due and now or now + ${JOB_CHECK_MS} - 10000
  local jobs = redis.call('ZRANGE', checks, '-inf', upTo, 'BYSCORE', 'LIMIT', 0, 100)
  for _, key in ipairs(jobs) do
    if redis.call('EXISTS', key) == 0 then forget(key) else redis.call('ZADD', checks, now + ${JOB_CHECK_MS}, key) end
  end
end
local rechecked = false
local function teamOver(after) return limit > 0 and total + after > limit end
local function fleetOver(after) return fleetLimit > 0 and fleet + total - startTotal + after > fleetLimit end
local function refusal(after)
  if not teamOver(after) and not fleetOver(after) then return end
  -- Once per script: jobs done since their last check may have made room.
  if not rechecked then
    rechecked = true
    recheck(false)
    if not teamOver(after) and not fleetOver(after) then return end
  end
  if teamOver(after) then return { err = 'TEAM_REDIS_LIMIT ' .. total .. ' ' .. after } end
  return { err = 'FLEET_REDIS_LIMIT ' .. (fleet + total - startTotal) .. ' ' .. after }
end
-- Twice as many as this call could add, so a team writing keys with a TTL never outruns the purge.
for _, key in ipairs(redis.call('ZRANGE', expiries, '-inf', now, 'BYSCORE', 'LIMIT', 0, 100 + 2 * (#KEYS - 4))) do
  local ttl = redis.call('PTTL', key)
  if ttl == -2 then forget(key) elseif ttl == -1 then redis.call('ZREM', expiries, key) else redis.call('ZADD', expiries, now + ttl, key) end
end
recheck(true)
`

const EPILOGUE = `
if changed then
  redis.call('SET', totalKey, math.max(total, 0))
  if total ~= startTotal then redis.call('INCRBY', fleetKey, total - startTotal) end
end
return result
`

const script = (body: string): string => PRELUDE + body + EPILOGUE

/** ARGV: value, seconds to live (0: none), per key. Answers 1 or the key's own error, per key. */
export const SET_MANY = script(`
result = {}
for i = 5, #KEYS do
  local key, value, ttl = KEYS[i], ARGV[(i - 4) * 2], tonumber(ARGV[(i - 4) * 2 + 1])
  local before = held(key)
  local after = #key + #value + ${KEY_OVERHEAD}
  local refused = after > before and refusal(after - before)
  if refused then result[i - 4] = refused else
    local reply = ttl > 0 and redis.pcall('SET', key, value, 'EX', ttl) or redis.pcall('SET', key, value)
    if type(reply) == 'table' and reply.err then result[i - 4] = reply else
      account(key, before, after)
      -- LT: a key set again and again with a TTL keeps its earliest date, and the purge above
      -- re-dates it when that comes (a date early is only a check made early; a late one, bytes held late).
      if ttl > 0 then redis.call('ZADD', expiries, 'LT', now + ttl * 1000, key) else redis.call('ZREM', expiries, key) end
      result[i - 4] = 1
    end
  end
end
`)

/**
 * Answers each key's count or its own error (not a count, or the limit for a new key). A count
 * that exists costs one INCR: only a count of 1 may be a new key, whose bytes are then accounted
 * (or the key removed again, refused).
 */
export const INCR_MANY = script(`
result = {}
for i = 5, #KEYS do
  local key = KEYS[i]
  local reply = redis.pcall('INCR', key)
  if reply == 1 and not redis.call('HGET', sizes, key) then
    local after = #key + 20 + ${KEY_OVERHEAD}
    local refused = refusal(after)
    if refused then
      redis.call('DEL', key)
      reply = refused
    else account(key, 0, after) end
  end
  result[i - 4] = reply
end
`)

/** ARGV[2]: seconds. Answers 1 when the key exists (and now expires), 0 when it does not. */
export const EXPIRE = script(`
local key = KEYS[5]
result = redis.pcall('EXPIRE', key, ARGV[2])
if result == 1 then
  if redis.call('EXISTS', key) == 1 then redis.call('ZADD', expiries, 'LT', now + tonumber(ARGV[2]) * 1000, key) else forget(key) end
end
`)

/** ARGV[2..]: the elements, pushed in order (each to the head). Answers the list's length or the limit's error. */
export const LPUSH = script(`
local key = KEYS[5]
if redis.call('EXISTS', key) == 0 then forget(key) end
local before = held(key)
local after = before > 0 and before or #key + ${KEY_OVERHEAD}
for i = 2, #ARGV do after = after + #ARGV[i] + ${ELEMENT_OVERHEAD} end
local refused = refusal(after - before)
if refused then result = refused else
  -- In slices: unpack of a whole array of a plugin's size could overflow Lua's stack.
  -- pcall (here and below): a script that raises would keep the account's changes without the total's.
  for i = 2, #ARGV, 1000 do
    result = redis.pcall('LPUSH', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
    if type(result) == 'table' then break end
  end
  if type(result) == 'number' then account(key, before, after) end
end
`)

/** What a list gives back when elements leave it (a list that emptied is gone, its key's bytes too). */
const SHRINK = `
local function shrink(key, removed)
  local before = held(key)
  if before == 0 then return end
  if redis.call('EXISTS', key) == 0 then account(key, before, 0) else account(key, before, math.max(before - removed, #key + ${KEY_OVERHEAD})) end
end
`

/** What one window of a bounded read may copy into the script's memory past its cap, at most. */
const WINDOW_OVERSHOOT_BYTES = 8 * 1024 * 1024

/**
 * The elements of a list from `first` to `last` (LRANGE's indexes), or a refusal when they hold more
 * than `cap` bytes together, decided before any of them leaves Redis: a plugin's list may hold its
 * team's whole limit, and one read of it was all of that in the host's memory, once per read in
 * flight (8 reads of a 103 MB list took a worker to 2.8 GB). An element counts its bytes and its
 * overhead (ELEMENT_OVERHEAD, as the team's account does), so a list of empty strings is bounded too
 * (a million of them had run a million LRANGE calls, holding Redis 6.4 s, and come back whole). No
 * element is larger than the cap (a write's limit), so windows of WINDOW_OVERSHOOT_BYTES / cap
 * elements copy at most that much past the cap before a refusal, and a read makes at most
 * cap / overhead / window LRANGE calls (8 192 at the 1 MiB default).
 */
const BOUNDED_RANGE = `
local function boundedRange(key, first, last, cap)
  local len = redis.call('LLEN', key)
  if first < 0 then first = math.max(len + first, 0) end
  if last < 0 then last = len + last end
  last = math.min(last, len - 1)
  local window = math.max(1, math.min(1024, math.floor(${WINDOW_OVERSHOOT_BYTES} / cap)))
  local elements, bytes, i = {}, 0, first
  while i <= last do
    local upTo = math.min(i + window - 1, last)
    for _, element in ipairs(redis.call('LRANGE', key, i, upTo)) do
      bytes = bytes + #element + ${ELEMENT_OVERHEAD}
      if bytes > cap then return { err = 'REPLY_LIMIT ' .. cap } end
      elements[#elements + 1] = element
    end
    i = upTo + 1
  end
  return elements
end
`

/** ARGV[2], ARGV[3]: the first and last index, ARGV[4]: the reply's cap in bytes. Answers the elements. */
export const LRANGE = script(`${BOUNDED_RANGE}
result = boundedRange(KEYS[5], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
`)

/** ARGV[2]: how many, ARGV[3]: the reply's cap in bytes. Answers the popped elements (an empty array for none). */
export const LPOP = script(`${SHRINK}${BOUNDED_RANGE}
local key = KEYS[5]
local count = tonumber(ARGV[2])
-- Only the check: LPOP below takes the same elements (nothing runs between) and answers a bad count itself.
local checked = count and count > 0 and boundedRange(key, 0, count - 1, tonumber(ARGV[3]))
-- Not returned here: the epilogue keeps what the prelude's purge changed.
if checked and checked.err then result = checked else
  result = redis.pcall('LPOP', key, ARGV[2]) or {}
  if not result.err and #result > 0 then
    local removed = 0
    for _, element in ipairs(result) do removed = removed + #element + ${ELEMENT_OVERHEAD} end
    shrink(key, removed)
  end
end
`)

/** ARGV[2]: count, ARGV[3]: the element. Answers how many were removed. */
export const LREM = script(`${SHRINK}
local key = KEYS[5]
result = redis.pcall('LREM', key, ARGV[2], ARGV[3])
if type(result) == 'number' and result > 0 then shrink(key, result * (#ARGV[3] + ${ELEMENT_OVERHEAD})) end
`)

/** A cursor (utils.cursor), a counter per name: its bytes are accounted when it is made. */
const NEW_COUNTER = `
local key = KEYS[5]
local fresh = redis.call('EXISTS', key) == 0
local after = #key + 20 + ${KEY_OVERHEAD}
if fresh then result = refusal(after) end
`

/** ARGV[2]: the initial value. Sets the cursor unless it exists; answers 1 when set, 0 when it existed. */
export const CURSOR_INIT = script(`${NEW_COUNTER}
if not fresh then result = 0 elseif not result then
  redis.call('SET', key, ARGV[2])
  account(key, held(key), after)
  result = 1
end
`)

/** ARGV[2]: by how much. Answers the cursor's new value (a cursor never made starts at 0). */
export const CURSOR_INCREMENT = script(`${NEW_COUNTER}
if not result then
  result = redis.pcall('INCRBY', key, ARGV[2])
  if fresh and type(result) == 'number' then account(key, held(key), after) end
end
`)

/** KEYS[5]: the job's BullMQ key; ARGV[2]: its data's bytes. Answers 1, or the limit's error. */
export const RESERVE_JOB = script(`
local key = KEYS[5]
local after = tonumber(ARGV[2]) + ${JOB_OVERHEAD}
result = refusal(after)
if not result then
  account(key, 0, after)
  redis.call('ZADD', checks, now + ${JOB_CHECK_MS}, key)
  result = 1
end
`)

/**
 * A script's refusal (TEAM_REDIS_LIMIT or FLEET_REDIS_LIMIT <held> <adding>) as an error naming the
 * limit and what was refused; undefined for any other error.
 */
export function limitError(error: Error, what: string, teamId: number, teamLimitBytes: number): Error | undefined {
  const refused = /^(TEAM|FLEET)_REDIS_LIMIT (\S+) (\S+)/.exec(error.message)
  if (!refused) return undefined
  const [, scope, held, adding] = refused
  if (scope === 'FLEET') {
    // The plugin's own logs show this to its team: what the other teams hold together is theirs, so neither it nor the limit is named.
    return new Error(
      `${what} refused: it would add ${megabytes(Number(adding))} to Redis, and the plugins of all teams together are at PLUGIN_REDIS_LIMIT_MB; ` +
        `give cache keys a ttlSeconds, or write and enqueue less`,
    )
  }
  return new Error(
    `${what} refused: team ${teamId}'s plugins hold ${megabytes(Number(held))} of Redis (cache and jobs) together and this would add ${megabytes(Number(adding))}, ` +
      `over PLUGIN_TEAM_REDIS_LIMIT_MB (${megabytes(teamLimitBytes)}); give cache keys a ttlSeconds, or write and enqueue less`,
  )
}
