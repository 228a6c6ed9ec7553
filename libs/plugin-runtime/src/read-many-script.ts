/**
 * `cache.get` of many keys (RedisPluginCache.readMany): the values of the first keys, in order,
 * whose bytes together are at most ARGV[1]. Sizes are looked at first (STRLEN, without copying), so
 * a value past the bound never leaves Redis: a plugin asking for more than its host may hold gets a
 * refusal, and Redis neither copies it nor queues it for the worker. KEYS: the keys.
 *
 * Answers `{ read, wrongType, values }`: how many keys were read, the (1-based) positions of keys
 * holding a list (GET's WRONGTYPE; MGET answers nil for them), and MGET of the first `read` keys.
 */
export const READ_MANY = `
local limit = tonumber(ARGV[1])
local bytes, read, wrong = 0, 0, {}
for i, key in ipairs(KEYS) do
  local size = redis.pcall('STRLEN', key)
  if type(size) == 'table' then
    wrong[#wrong + 1] = i
  else
    bytes = bytes + size
    if bytes > limit then break end
  end
  read = i
end
if read == 0 then return { 0, wrong } end
return { read, wrong, redis.call('MGET', unpack(KEYS, 1, read)) }
`
