import type Redis from 'ioredis'
import { redisKeys } from './redis-keys'

/**
 * Gives back to the team's Redis account (PLUGIN_TEAM_REDIS_LIMIT_MB, and the fleet's total) what it
 * holds for these keys, deleting them too unless they are plugin jobs BullMQ already removed (a job
 * key is BullMQ's to delete). The account's own scripts (libs/plugin-runtime redis-account-scripts.ts)
 * forget a key the same way: its size leaves the sizes hash, its expiry and its job check go, the
 * total drops by it. Idempotent: a key already forgotten frees nothing, so a cleanup run twice (or
 * two at once) never credits a key twice. KEYS: sizes, expiries, checks, total, fleet total, then the
 * keys. ARGV[1]: '1' to delete the keys. Answers the bytes freed.
 */
const FORGET = `
local freed = 0
for i = 6, #KEYS do
  local key = KEYS[i]
  if ARGV[1] == '1' then redis.call('DEL', key) end
  local size = redis.call('HGET', KEYS[1], key)
  if size then
    freed = freed + tonumber(size)
    redis.call('HDEL', KEYS[1], key)
  end
  redis.call('ZREM', KEYS[2], key)
  redis.call('ZREM', KEYS[3], key)
end
if freed > 0 then
  redis.call('SET', KEYS[4], math.max(tonumber(redis.call('GET', KEYS[4]) or '0') - freed, 0))
  redis.call('DECRBY', KEYS[5], freed)
end
return freed
`

/** `keys` of one team's plugins (cache keys, cursors; `deleteKeys` false: removed plugin jobs' keys). Answers the bytes freed. */
export async function forgetPluginRedisKeys(redis: Redis, queuePrefix: string, teamId: number, keys: readonly string[], deleteKeys: boolean): Promise<number> {
  if (keys.length === 0) return 0
  const all = redisKeys(queuePrefix)
  const { sizes, expiries, checks, total } = all.pluginRedisAccount(teamId)
  return Number(await redis.eval(FORGET, 5 + keys.length, sizes, expiries, checks, total, all.pluginRedisFleetTotal(), ...keys, deleteKeys ? '1' : '0'))
}
