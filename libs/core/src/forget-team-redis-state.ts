import type Redis from 'ioredis'
import { redisKeys } from './redis-keys'

/** Delivery jobs given back per call, as in forget-export-state.ts: one script must stay short. */
const STEP = 1000

/**
 * What is left of a deleted team's Redis account once its keys are forgotten one by one
 * (forgetPluginRedisKeys): the fleet's total drops by what the team's total still says — a key
 * written after the last scan, a size the team's total counted and no key holds — so the fleet
 * total drops by exactly what the team held, and the account goes. KEYS: sizes, expiries, checks,
 * total, fleet total. Answers the bytes given back. Idempotent: a gone account gives back nothing.
 */
const DROP_ACCOUNT = `
local held = tonumber(redis.call('GET', KEYS[4]) or '0')
if held > 0 then redis.call('DECRBY', KEYS[5], held) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return held
`

/**
 * One step of dropping a deleted team's own export counts, once each of its configs' state is gone
 * (forgetExportState gives back what they counted): up to STEP delivery jobs the team's hash still
 * counts leave it and the fleet's, as FINISH in libs/export gives them back. Once none is left, the
 * buffers of the team's configs (`ARGV[1]` of them, ids after it) are given back as TAKE there
 * would, each by what its own hash counted — an exporter that had not reloaded may have appended
 * after the config's cleanup, and taking the team's count as a whole would give that back here and
 * again at the config's next cleanup or flush — and then only what no config counts any more leaves
 * the fleet's count with the team's keys. KEYS: teamPendingEvents, teamPendingEventsTotal,
 * teamBufferedEvents, pendingRechecked(team), the fleet's fleetPendingEvents,
 * fleetPendingEventsTotal, fleetBufferedEvents, buffered, then each config's buffer, bufferBytes,
 * bufferCounted. Answers the jobs left.
 */
const EXPORT_STEP = `
for _, id in ipairs(redis.call('HRANDFIELD', KEYS[1], ${STEP})) do
  local held = redis.call('HGET', KEYS[5], id)
  if held then
    redis.call('HDEL', KEYS[5], id)
    redis.call('DECRBY', KEYS[6], string.match(held, '^(%d+)'))
  end
  redis.call('HDEL', KEYS[1], id)
end
local left = redis.call('HLEN', KEYS[1])
if left > 0 then return left end
for i = 1, tonumber(ARGV[1]) do
  local at = 8 + (i - 1) * 3
  local counted = redis.call('HGET', KEYS[at + 3], 'events')
  if counted then
    for _, key in ipairs({KEYS[3], KEYS[7]}) do
      if redis.call('DECRBY', key, counted) <= 0 then redis.call('DEL', key) end
    end
  end
  redis.call('DEL', KEYS[at + 1], KEYS[at + 2], KEYS[at + 3])
  redis.call('ZREM', KEYS[8], ARGV[i + 1])
end
local buffered = tonumber(redis.call('GET', KEYS[3]) or '0')
if buffered > 0 and redis.call('DECRBY', KEYS[7], buffered) <= 0 then redis.call('DEL', KEYS[7]) end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return 0
`

/**
 * The team-wide keys a deleted team leaves once its configs' state and its keys are forgotten: its
 * Redis account (given back to the fleet's total), its export counts (given back to the fleet's),
 * and its line of waiting plugin jobs (a job still in it could not be removed: it runs, finds its
 * config gone). Answers the bytes the fleet's total got back. Idempotent.
 */
export async function forgetTeamRedisState(redis: Redis, queuePrefix: string, teamId: number, configIds: readonly number[]): Promise<number> {
  const keys = redisKeys(queuePrefix)
  const { sizes, expiries, checks, total } = keys.pluginRedisAccount(teamId)
  const k = keys.export
  const exportKeys = [
    k.teamPendingEvents(teamId),
    k.teamPendingEventsTotal(teamId),
    k.teamBufferedEvents(teamId),
    k.pendingRechecked(`team:${teamId}`),
    k.fleetPendingEvents(),
    k.fleetPendingEventsTotal(),
    k.fleetBufferedEvents(),
    k.buffered(),
    ...configIds.flatMap((id) => [k.buffer(id), k.bufferBytes(id), k.bufferCounted(id)]),
  ]
  let left: number
  do left = Number(await redis.eval(EXPORT_STEP, exportKeys.length, ...exportKeys, String(configIds.length), ...configIds.map(String)))
  while (left > 0)
  await redis.unlink(keys.pluginJobsWaiting(teamId))
  return Number(await redis.eval(DROP_ACCOUNT, 5, sizes, expiries, checks, total, keys.pluginRedisFleetTotal()))
}
