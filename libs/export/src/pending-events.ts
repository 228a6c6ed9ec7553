import type Redis from 'ioredis'
import { BULLMQ_JOB_FINISHED_FIELD, bullmqKeys } from '@plugin-server/core'
import { DELIVERIES_QUEUE, ExportKeys } from './keys'

/**
 * Admits delivery jobs of one config against its cap of pending events and its team's: KEYS the
 * config's pendingEvents HASH, its total, its spilled HASH, the team's teamPendingEvents HASH and its
 * total; ARGV the config's cap and the team's (0: none), the prefix of the queue's job keys, BullMQ's
 * finished field, the config id, the prefixes of every config's pendingEvents HASH and total (a lost
 * count found through the team may be another config's), then job id and events per job.
 *
 * A job added again (a redelivered hand-off, a retried flush) gets the answer it got before: counted
 * once if admitted, admitted uncounted if BullMQ has it already (delivered: its stub stays an hour,
 * and BullMQ ignores the add), refused again if it was spilled (its dead letter is written once) — so
 * no batch is both delivered and a dead letter. A new one that would take its config's total or its
 * team's past the cap is refused, unless nothing is pending there (a batch larger than the cap still
 * goes, alone); spilled marks are kept an hour. Before refusing, once per call, a sample of 100
 * counted jobs of the config and 100 of the team is looked at: one admitted over a minute ago (its
 * add is surely done) that ended without giving its events back (failed past BullMQ's own attempts,
 * removed by hand) stops counting, so a lost count cannot hold exports back for good. The config
 * holds each job as `<events>:<ms admitted>`, the team as `<events>:<ms admitted>:<config id>`; a job
 * admitted before the team's count existed counts for its config only. Answers both totals, then
 * per job `admitted`, `config` or `team` (the limit it did not fit).
 */
const ADMIT = `
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
local teamTotal = tonumber(redis.call('GET', KEYS[5]) or '0')
local cap, teamCap = tonumber(ARGV[1]), tonumber(ARGV[2])
local jobPrefix, finished, configId, configHashPrefix, configTotalPrefix = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function lost(id, at)
  local job = jobPrefix .. id
  return tonumber(at) < now - 60000 and (redis.call('EXISTS', job) == 0 or redis.call('HEXISTS', job, finished) == 1)
end
local function recheck()
  for _, id in ipairs(redis.call('HRANDFIELD', KEYS[1], 100)) do
    local events, at = string.match(redis.call('HGET', KEYS[1], id), '^(%d+):(%d+)$')
    if lost(id, at) then
      redis.call('HDEL', KEYS[1], id)
      total = total - tonumber(events)
      if redis.call('HDEL', KEYS[4], id) == 1 then teamTotal = teamTotal - tonumber(events) end
    end
  end
  for _, id in ipairs(redis.call('HRANDFIELD', KEYS[4], 100)) do
    local events, at, config = string.match(redis.call('HGET', KEYS[4], id), '^(%d+):(%d+):(%d+)$')
    if lost(id, at) then
      redis.call('HDEL', KEYS[4], id)
      teamTotal = teamTotal - tonumber(events)
      if config == configId then
        if redis.call('HDEL', KEYS[1], id) == 1 then total = total - tonumber(events) end
      elseif redis.call('HDEL', configHashPrefix .. config, id) == 1 then
        redis.call('DECRBY', configTotalPrefix .. config, events)
      end
    end
  end
end
local function refusal(events)
  if cap > 0 and total > 0 and total + events > cap then return 'config' end
  if teamCap > 0 and teamTotal > 0 and teamTotal + events > teamCap then return 'team' end
  return false
end
for _, id in ipairs(redis.call('HRANDFIELD', KEYS[3], 10)) do
  if tonumber(string.match(redis.call('HGET', KEYS[3], id), '^(%d+)')) < now - 3600000 then redis.call('HDEL', KEYS[3], id) end
end
local answers = {}
local rechecked = false
for i = 8, #ARGV, 2 do
  local id, events = ARGV[i], tonumber(ARGV[i + 1])
  local counted = redis.call('HEXISTS', KEYS[1], id) == 1
  local stored = redis.call('EXISTS', jobPrefix .. id) == 1
  local mark = redis.call('HGET', KEYS[3], id)
  if not (counted or stored or mark) and refusal(events) and not rechecked then
    rechecked = true
    recheck()
  end
  local why = refusal(events)
  if counted or stored then answers[#answers + 1] = 'admitted'
  elseif mark then answers[#answers + 1] = string.match(mark, ':(%a+)$') or 'config'
  elseif why then
    redis.call('HSET', KEYS[3], id, now .. ':' .. why)
    answers[#answers + 1] = why
  else
    redis.call('HSET', KEYS[1], id, events .. ':' .. now)
    redis.call('HSET', KEYS[4], id, events .. ':' .. now .. ':' .. configId)
    total = total + events
    teamTotal = teamTotal + events
    answers[#answers + 1] = 'admitted'
  end
end
redis.call('SET', KEYS[2], math.max(total, 0))
redis.call('SET', KEYS[5], math.max(teamTotal, 0))
return {total, teamTotal, answers}
`

/** A finished job gives its events back to its config and its team, once, and leaves the status sets. */
const FINISH = `
local function giveBack(hash, total)
  local held = redis.call('HGET', hash, ARGV[1])
  if held then
    redis.call('HDEL', hash, ARGV[1])
    redis.call('DECRBY', total, string.match(held, '^(%d+)'))
  end
end
giveBack(KEYS[1], KEYS[2])
giveBack(KEYS[5], KEYS[6])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
`

/** The limit a delivery did not fit: its config's EXPORT_MAX_PENDING_EVENTS or its team's EXPORT_TEAM_MAX_PENDING_EVENTS. */
export type PendingLimit = 'config' | 'team'

/** Whose delivery jobs these are: every job of one admit belongs to one config. */
export interface PendingOwner {
  configId: number
  teamId: number
}

export interface PendingCaps {
  /** 0: none (counted still). */
  config: number
  team: number
}

export interface Admitted {
  /** Events the config's and the team's unfinished jobs hold after the admit. */
  pending: { config: number; team: number }
  /** Per job: null if it fits (or was admitted before), else the limit it did not fit. */
  refused: (PendingLimit | null)[]
}

/** Which of these jobs of one config fit under its caps and its team's; all are counted if they do. */
export async function admitPending(
  redis: Redis,
  prefix: string,
  keys: ExportKeys,
  owner: PendingOwner,
  caps: PendingCaps,
  jobs: readonly { jobId: string; events: number }[],
): Promise<Admitted> {
  const args = jobs.flatMap((j) => [j.jobId, String(j.events)])
  const jobPrefix = bullmqKeys(prefix, DELIVERIES_QUEUE).job('')
  const [config, team, answers] = (await redis.eval(
    ADMIT,
    5,
    keys.pendingEvents(owner.configId),
    keys.pendingEventsTotal(owner.configId),
    keys.spilled(owner.configId),
    keys.teamPendingEvents(owner.teamId),
    keys.teamPendingEventsTotal(owner.teamId),
    String(caps.config),
    String(caps.team),
    jobPrefix,
    BULLMQ_JOB_FINISHED_FIELD,
    String(owner.configId),
    keys.pendingEvents(''),
    keys.pendingEventsTotal(''),
    ...args,
  )) as [number, number, string[]]
  return { pending: { config, team }, refused: answers.map((a) => (a === 'admitted' ? null : (a as PendingLimit))) }
}

/** The job is done (delivered, dead letter, dropped): its events no longer count, and it leaves pending/retrying. */
export async function finishPending(redis: Redis, keys: ExportKeys, owner: PendingOwner, jobId: string): Promise<void> {
  await redis.eval(
    FINISH,
    6,
    keys.pendingEvents(owner.configId),
    keys.pendingEventsTotal(owner.configId),
    keys.pending(owner.configId),
    keys.retrying(owner.configId),
    keys.teamPendingEvents(owner.teamId),
    keys.teamPendingEventsTotal(owner.teamId),
    jobId,
  )
}
