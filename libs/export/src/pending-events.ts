import type Redis from 'ioredis'
import type { ExportKeys } from './keys'

/**
 * Admits delivery jobs of one config against its cap of pending events: KEYS the config's
 * pendingEvents HASH and its total; ARGV the cap (0: none), then job id and events per job. A job
 * already admitted (a redelivered hand-off, a retried flush) is admitted again without counting
 * twice; one that would take the total past the cap is not, unless nothing is pending (a batch
 * larger than the cap still goes, alone). Answers the total, then 1 or 0 per job.
 */
const ADMIT = `
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
local cap = tonumber(ARGV[1])
local admitted = {}
for i = 2, #ARGV, 2 do
  local id, events = ARGV[i], tonumber(ARGV[i + 1])
  if redis.call('HEXISTS', KEYS[1], id) == 1 then admitted[#admitted + 1] = 1
  elseif cap > 0 and total > 0 and total + events > cap then admitted[#admitted + 1] = 0
  else
    redis.call('HSET', KEYS[1], id, events)
    total = total + events
    admitted[#admitted + 1] = 1
  end
end
redis.call('SET', KEYS[2], total)
return {total, admitted}
`

/** A finished job gives its events back, once, and leaves the status sets. */
const FINISH = `
local events = redis.call('HGET', KEYS[1], ARGV[1])
if events then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('DECRBY', KEYS[2], events)
end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
`

/** Which of these jobs of one config fit under `cap` (0: all, counted still), and the config's pending events after. */
export async function admitPending(
  redis: Redis,
  keys: ExportKeys,
  configId: number,
  cap: number,
  jobs: readonly { jobId: string; events: number }[],
): Promise<{ pending: number; admitted: boolean[] }> {
  const args = jobs.flatMap((j) => [j.jobId, String(j.events)])
  const [pending, admitted] = (await redis.eval(ADMIT, 2, keys.pendingEvents(configId), keys.pendingEventsTotal(configId), String(cap), ...args)) as [
    number,
    number[],
  ]
  return { pending, admitted: admitted.map((a) => a === 1) }
}

/** The job is done (delivered, dead letter, dropped): its events no longer count, and it leaves pending/retrying. */
export async function finishPending(redis: Redis, keys: ExportKeys, configId: number, jobId: string): Promise<void> {
  await redis.eval(FINISH, 4, keys.pendingEvents(configId), keys.pendingEventsTotal(configId), keys.pending(configId), keys.retrying(configId), jobId)
}
