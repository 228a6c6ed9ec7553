import type Redis from 'ioredis'
import { BULLMQ_JOB_FINISHED_FIELD, bullmqKeys } from '@plugin-server/core'
import { DELIVERIES_QUEUE, ExportKeys } from './keys'

/**
 * Admits delivery jobs of one config against its cap of pending events: KEYS the config's
 * pendingEvents HASH, its total and its spilled HASH; ARGV the cap (0: none), the prefix of the
 * queue's job keys and BullMQ's finished field, then job id and events per job. A job added again
 * (a redelivered hand-off, a retried flush) gets the answer it got before: counted once if admitted,
 * admitted uncounted if BullMQ has it already (delivered: its stub stays an hour, and BullMQ ignores
 * the add), refused again if it was spilled (its dead letter is written once) — so no batch is both
 * delivered and a dead letter. A new one that would take the total past the cap is refused, unless
 * nothing is pending (a batch larger than the cap still goes, alone); spilled marks are kept an hour. Before refusing, once per call, a sample of 100 counted jobs is looked at: one admitted
 * over a minute ago (its add is surely done) that ended without giving its events back (failed past
 * BullMQ's own attempts, removed by hand) stops counting, so a lost count cannot hold a config's
 * exports back for good. Each job is held as `<events>:<ms admitted>`. Answers the total, then 1 or 0
 * per job.
 */
const ADMIT = `
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
local cap, jobPrefix, finished = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local rechecked = false
local function recheck()
  for _, id in ipairs(redis.call('HRANDFIELD', KEYS[1], 100)) do
    local events, at = string.match(redis.call('HGET', KEYS[1], id), '^(%d+):(%d+)$')
    local job = jobPrefix .. id
    if tonumber(at) < now - 60000 and (redis.call('EXISTS', job) == 0 or redis.call('HEXISTS', job, finished) == 1) then
      total = total - tonumber(events)
      redis.call('HDEL', KEYS[1], id)
    end
  end
end
local function fits(events)
  return cap == 0 or total == 0 or total + events <= cap
end
for _, id in ipairs(redis.call('HRANDFIELD', KEYS[3], 10)) do
  if tonumber(redis.call('HGET', KEYS[3], id)) < now - 3600000 then redis.call('HDEL', KEYS[3], id) end
end
local admitted = {}
for i = 4, #ARGV, 2 do
  local id, events = ARGV[i], tonumber(ARGV[i + 1])
  local counted = redis.call('HEXISTS', KEYS[1], id) == 1
  if not counted and redis.call('HEXISTS', KEYS[3], id) == 0 and redis.call('EXISTS', jobPrefix .. id) == 0 and not fits(events) and not rechecked then
    rechecked = true
    recheck()
    counted = redis.call('HEXISTS', KEYS[1], id) == 1
  end
  if counted or redis.call('EXISTS', jobPrefix .. id) == 1 then admitted[#admitted + 1] = 1
  elseif redis.call('HEXISTS', KEYS[3], id) == 1 or not fits(events) then
    redis.call('HSET', KEYS[3], id, now)
    admitted[#admitted + 1] = 0
  else
    redis.call('HSET', KEYS[1], id, events .. ':' .. now)
    total = total + events
    admitted[#admitted + 1] = 1
  end
end
redis.call('SET', KEYS[2], math.max(total, 0))
return {total, admitted}
`

/** A finished job gives its events back, once, and leaves the status sets. */
const FINISH = `
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('DECRBY', KEYS[2], string.match(held, '^(%d+)'))
end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
`

/** Which of these jobs of one config fit under `cap` (0: all, counted still), and the config's pending events after. */
export async function admitPending(
  redis: Redis,
  prefix: string,
  keys: ExportKeys,
  configId: number,
  cap: number,
  jobs: readonly { jobId: string; events: number }[],
): Promise<{ pending: number; admitted: boolean[] }> {
  const args = jobs.flatMap((j) => [j.jobId, String(j.events)])
  const jobPrefix = bullmqKeys(prefix, DELIVERIES_QUEUE).job('')
  const [pending, admitted] = (await redis.eval(
    ADMIT,
    3,
    keys.pendingEvents(configId),
    keys.pendingEventsTotal(configId),
    keys.spilled(configId),
    String(cap),
    jobPrefix,
    BULLMQ_JOB_FINISHED_FIELD,
    ...args,
  )) as [number, number[]]
  return { pending, admitted: admitted.map((a) => a === 1) }
}

/** The job is done (delivered, dead letter, dropped): its events no longer count, and it leaves pending/retrying. */
export async function finishPending(redis: Redis, keys: ExportKeys, configId: number, jobId: string): Promise<void> {
  await redis.eval(FINISH, 4, keys.pendingEvents(configId), keys.pendingEventsTotal(configId), keys.pending(configId), keys.retrying(configId), jobId)
}
