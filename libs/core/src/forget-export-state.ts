import type Redis from 'ioredis'
import { redisKeys } from './redis-keys'

/** Jobs given back per call: a config's pending hash may hold many thousands, and one script must stay short. */
const STEP = 1000

/**
 * One step of dropping a deleted config's export state (libs/export keeps it: export-buffer.ts,
 * pending-events.ts): up to STEP of its counted delivery jobs leave its team's and the fleet's
 * pending counts, as FINISH there gives them back; once none is left, its buffer goes with the
 * buffered events it counted for the team and the fleet, and its own counts and status sets. A
 * flush in progress is left to finish: its job is dropped by the exporter, which finds the config
 * gone, and gives back nothing twice (FINISH finds the job no longer counted). KEYS: the config's
 * pendingEvents, pendingEventsTotal, pending, retrying, spilled, buffer, bufferBytes, bufferCounted;
 * the team's teamPendingEvents, teamPendingEventsTotal, teamBufferedEvents; the fleet's
 * fleetPendingEvents, fleetPendingEventsTotal, fleetBufferedEvents; buffered. ARGV: config id.
 * Answers the jobs left.
 */
const STEP_SCRIPT = `
for _, id in ipairs(redis.call('HRANDFIELD', KEYS[1], ${STEP})) do
  for _, pair in ipairs({{KEYS[9], KEYS[10]}, {KEYS[12], KEYS[13]}}) do
    local held = redis.call('HGET', pair[1], id)
    if held then
      redis.call('HDEL', pair[1], id)
      redis.call('DECRBY', pair[2], string.match(held, '^(%d+)'))
    end
  end
  redis.call('HDEL', KEYS[1], id)
end
local left = redis.call('HLEN', KEYS[1])
if left > 0 then return left end
local counted = redis.call('HGET', KEYS[8], 'events')
if counted then
  for _, key in ipairs({KEYS[11], KEYS[14]}) do
    if redis.call('DECRBY', key, counted) <= 0 then redis.call('DEL', key) end
  end
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
redis.call('ZREM', KEYS[15], ARGV[1])
return 0
`

/** Drops a deleted config's export buffer and pending counts, giving its events back to its team's and the fleet's counts. Idempotent. */
export async function forgetExportState(redis: Redis, queuePrefix: string, configId: number, teamId: number): Promise<void> {
  const k = redisKeys(queuePrefix).export
  const keys = [
    k.pendingEvents(configId),
    k.pendingEventsTotal(configId),
    k.pending(configId),
    k.retrying(configId),
    k.spilled(configId),
    k.buffer(configId),
    k.bufferBytes(configId),
    k.bufferCounted(configId),
    k.teamPendingEvents(teamId),
    k.teamPendingEventsTotal(teamId),
    k.teamBufferedEvents(teamId),
    k.fleetPendingEvents(),
    k.fleetPendingEventsTotal(),
    k.fleetBufferedEvents(),
    k.buffered(),
  ]
  let left: number
  do left = Number(await redis.eval(STEP_SCRIPT, keys.length, ...keys, String(configId)))
  while (left > 0)
}
