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
 * counts leave it and the fleet's, as FINISH in libs/export gives them back; once none is left, the
 * events its buffered count still holds leave the fleet's, and the team's keys go. KEYS:
 * teamPendingEvents, teamPendingEventsTotal, teamBufferedEvents, pendingRechecked(team), the fleet's
 * fleetPendingEvents, fleetPendingEventsTotal, fleetBufferedEvents. Answers the jobs left.
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
export async function forgetTeamRedisState(redis: Redis, queuePrefix: string, teamId: number): Promise<number> {
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
  ]
  let left: number
  do left = Number(await redis.eval(EXPORT_STEP, exportKeys.length, ...exportKeys))
  while (left > 0)
  await redis.unlink(keys.pluginJobsWaiting(teamId))
  return Number(await redis.eval(DROP_ACCOUNT, 5, sizes, expiries, checks, total, keys.pluginRedisFleetTotal()))
}
