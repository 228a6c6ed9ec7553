import type Redis from 'ioredis'
import { BULLMQ_JOB_FINISHED_FIELD, bullmqKeys } from '@plugin-server/core'
import { DELIVERIES_QUEUE, ExportKeys } from './keys'

/**
 * Admits delivery jobs of one config against the caps of pending events of its config, its team and
 * all teams. KEYS: the config's pendingEvents HASH, its total, its spilled HASH, the team's
 * teamPendingEvents HASH and total, the fleet's fleetPendingEvents HASH and total, and the three
 * pendingRechecked marks (config, team, fleet). ARGV: the three caps (0: none), the prefix of the
 * queue's job keys, BullMQ's finished field, the config and team ids, the prefixes of every config's
 * and team's HASH and total (a lost count found through the team or the fleet may be another
 * config's or team's), whether a refusal is marked as spilled (1) or only answered (0: a replay,
 * whose dead letter stays where it is), then job id and events per job.
 *
 * A job added again (a redelivered hand-off, a retried flush) gets the answer it got before: counted
 * once if admitted, admitted uncounted if BullMQ has it already (delivered: its stub stays an hour,
 * and BullMQ ignores the add), refused again if it was spilled (its dead letter is written once) — so
 * no batch is both delivered and a dead letter; one BullMQ holds as finished (delivered within the
 * hour: its stub) is answered `finished`, neither added nor shown as pending again. A new one that would take its config's, its team's
 * or all teams' total past the cap is refused, unless nothing is pending there (a batch larger than
 * the cap still goes, alone). A spilled mark is the ms it was spilled, a number (`<ms>.<1|2|3>`: the
 * limit, config, team or fleet), because the previous version's script compares it as one; marks are
 * kept an hour.
 *
 * Before refusing, counted jobs are looked at — 100 of the config's, 100 of the team's, 300 of the
 * fleet's, each at most every 10 s (a failing config is refused at every flush; each 100 costs
 * ~0.2 ms of Redis): one admitted over a minute ago (its add is surely done) that ended without
 * giving its events back (failed past BullMQ's own attempts, removed by hand, the queue obliterated)
 * stops counting everywhere, so a lost count cannot hold exports back for good. Jobs are held as
 * `<events>:<ms admitted>` by their config, `…:<config id>` by their team, `…:<config id>:<team id>`
 * by the fleet; a job admitted before a level's count existed (an upgrade) is not counted there.
 * Answers the three totals, then per job `admitted`, `finished`, `config`, `team` or `fleet` (the
 * limit it did not fit).
 */
const ADMIT = `
local caps = {config = tonumber(ARGV[1]), team = tonumber(ARGV[2]), fleet = tonumber(ARGV[3])}
local totals = {
  config = tonumber(redis.call('GET', KEYS[2]) or '0'),
  team = tonumber(redis.call('GET', KEYS[5]) or '0'),
  fleet = tonumber(redis.call('GET', KEYS[7]) or '0'),
}
local jobPrefix, finished, configId, teamId = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local configHashes, configTotals, teamHashes, teamTotals = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local markSpilled = ARGV[12] == '1'
local codes = {config = 1, team = 2, fleet = 3}
local limits = {'config', 'team', 'fleet'}
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function lost(id, at)
  if not at then return false end
  local job = jobPrefix .. id
  return tonumber(at) < now - 60000 and (redis.call('EXISTS', job) == 0 or redis.call('HEXISTS', job, finished) == 1)
end
-- Takes a job out of one level's count: this call's (kept in totals) or another config's or team's.
local function drop(level, hash, total, id, events)
  if redis.call('HDEL', hash, id) == 1 then
    if level then totals[level] = totals[level] - events else redis.call('DECRBY', total, events) end
  end
end
local function forget(id, events, config, team)
  events = tonumber(events)
  drop('fleet', KEYS[6], nil, id, events)
  if team == teamId then drop('team', KEYS[4], nil, id, events) else drop(nil, teamHashes .. team, teamTotals .. team, id, events) end
  if config == configId then drop('config', KEYS[1], nil, id, events) else drop(nil, configHashes .. config, configTotals .. config, id, events) end
end
-- A sample of one level's counted jobs, unless it was looked at in the last 10 s.
local function sample(hash, mark, count, pattern, found)
  if not redis.call('SET', mark, now, 'PX', 10000, 'NX') then return end
  for _, id in ipairs(redis.call('HRANDFIELD', hash, count)) do
    local events, at, config, team = string.match(redis.call('HGET', hash, id), pattern)
    if lost(id, at) then found(id, events, config, team) end
  end
end
local function recheck()
  sample(KEYS[1], KEYS[8], 100, '^(%d+):(%d+)', function(id, events) forget(id, events, configId, teamId) end)
  sample(KEYS[4], KEYS[9], 100, '^(%d+):(%d+):(%d+)$', function(id, events, config) forget(id, events, config, teamId) end)
  sample(KEYS[6], KEYS[10], 300, '^(%d+):(%d+):(%d+):(%d+)$', forget)
end
local function refusal(events)
  for _, level in ipairs(limits) do
    local cap, total = caps[level], totals[level]
    if cap > 0 and total > 0 and total + events > cap then return level end
  end
  return false
end
for _, id in ipairs(redis.call('HRANDFIELD', KEYS[3], 10)) do
  if tonumber(string.match(redis.call('HGET', KEYS[3], id), '^(%d+)')) < now - 3600000 then redis.call('HDEL', KEYS[3], id) end
end
local answers = {}
local rechecked = false
for i = 13, #ARGV, 2 do
  local id, events = ARGV[i], tonumber(ARGV[i + 1])
  local counted = redis.call('HEXISTS', KEYS[1], id) == 1
  local stored = redis.call('EXISTS', jobPrefix .. id) == 1
  local mark = redis.call('HGET', KEYS[3], id)
  if not (counted or stored or mark) and refusal(events) and not rechecked then
    rechecked = true
    recheck()
  end
  local why = refusal(events)
  if stored and not counted and redis.call('HEXISTS', jobPrefix .. id, finished) == 1 then answers[#answers + 1] = 'finished'
  elseif counted or stored then answers[#answers + 1] = 'admitted'
  elseif mark then answers[#answers + 1] = limits[tonumber(string.match(mark, '%.(%d)$') or '1')] or 'config'
  elseif why then
    if markSpilled then redis.call('HSET', KEYS[3], id, now .. '.' .. codes[why]) end
    answers[#answers + 1] = why
  else
    redis.call('HSET', KEYS[1], id, events .. ':' .. now)
    redis.call('HSET', KEYS[4], id, events .. ':' .. now .. ':' .. configId)
    redis.call('HSET', KEYS[6], id, events .. ':' .. now .. ':' .. configId .. ':' .. teamId)
    for level, total in pairs(totals) do totals[level] = total + events end
    answers[#answers + 1] = 'admitted'
  end
end
redis.call('SET', KEYS[2], math.max(totals.config, 0))
redis.call('SET', KEYS[5], math.max(totals.team, 0))
redis.call('SET', KEYS[7], math.max(totals.fleet, 0))
return {totals.config, totals.team, totals.fleet, answers}
`

/** A finished job gives its events back to its config, its team and the fleet, once, and leaves the status sets. */
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
giveBack(KEYS[7], KEYS[8])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
`

/** The limit a delivery did not fit: EXPORT_MAX_PENDING_EVENTS (its config), EXPORT_TEAM_MAX_PENDING_EVENTS, EXPORT_FLEET_MAX_PENDING_EVENTS. */
export type PendingLimit = 'config' | 'team' | 'fleet'

/** Whose delivery jobs these are: every job of one admit belongs to one config. */
export interface PendingOwner {
  configId: number
  teamId: number
}

/** 0: none (counted still). */
export type PendingCaps = Record<PendingLimit, number>

/** What became of one job: counted (now or before), already delivered (BullMQ holds its finished stub), or the limit it did not fit. */
export type PendingAnswer = 'admitted' | 'finished' | PendingLimit

export interface Admitted {
  /** Events the config's, the team's and all teams' unfinished jobs hold after the admit. */
  pending: Record<PendingLimit, number>
  answers: PendingAnswer[]
}

/**
 * Which of these jobs of one config fit under its cap, its team's and all teams'; all are counted if
 * they do. With `markSpilled` false (replays), a refused job is only answered: added again later, it
 * is looked at afresh.
 */
export async function admitPending(
  redis: Redis,
  prefix: string,
  keys: ExportKeys,
  owner: PendingOwner,
  caps: PendingCaps,
  jobs: readonly { jobId: string; events: number }[],
  markSpilled = true,
): Promise<Admitted> {
  const args = jobs.flatMap((j) => [j.jobId, String(j.events)])
  const jobPrefix = bullmqKeys(prefix, DELIVERIES_QUEUE).job('')
  const [config, team, fleet, answers] = (await redis.eval(
    ADMIT,
    10,
    keys.pendingEvents(owner.configId),
    keys.pendingEventsTotal(owner.configId),
    keys.spilled(owner.configId),
    keys.teamPendingEvents(owner.teamId),
    keys.teamPendingEventsTotal(owner.teamId),
    keys.fleetPendingEvents(),
    keys.fleetPendingEventsTotal(),
    keys.pendingRechecked(`config:${owner.configId}`),
    keys.pendingRechecked(`team:${owner.teamId}`),
    keys.pendingRechecked('fleet'),
    String(caps.config),
    String(caps.team),
    String(caps.fleet),
    jobPrefix,
    BULLMQ_JOB_FINISHED_FIELD,
    String(owner.configId),
    String(owner.teamId),
    keys.pendingEvents(''),
    keys.pendingEventsTotal(''),
    keys.teamPendingEvents(''),
    keys.teamPendingEventsTotal(''),
    markSpilled ? '1' : '0',
    ...args,
  )) as [number, number, number, string[]]
  return { pending: { config, team, fleet }, answers: answers as PendingAnswer[] }
}

/** The job is done (delivered, dead letter, dropped): its events no longer count, and it leaves pending/retrying. */
export async function finishPending(redis: Redis, keys: ExportKeys, owner: PendingOwner, jobId: string): Promise<void> {
  await redis.eval(
    FINISH,
    8,
    keys.pendingEvents(owner.configId),
    keys.pendingEventsTotal(owner.configId),
    keys.pending(owner.configId),
    keys.retrying(owner.configId),
    keys.teamPendingEvents(owner.teamId),
    keys.teamPendingEventsTotal(owner.teamId),
    keys.fleetPendingEvents(),
    keys.fleetPendingEventsTotal(),
    jobId,
  )
}
