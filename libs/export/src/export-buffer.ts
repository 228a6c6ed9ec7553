import type Redis from 'ioredis'
import { liveCaps, NO_CAPS, type DeliveryOverflow, type DeliveryQueue } from './delivery-queue'
import type { ProcessedPluginEvent } from './interfaces'
import { exportKeys, ExportKeys } from './keys'
import type { PendingLimit } from './pending-events'

/**
 * How long a hand-off is remembered as buffered (a redelivery after that buffers it again:
 * at-least-once). An hour, as a live delivery's stub is kept (delivery-queue.ts): redeliveries come
 * within minutes, and a marker per hand-off per config is ~1 000 keys a minute at 40 events/s — kept
 * a day, they held ~175 MB of Redis counted against no one.
 */
const APPENDED_TTL_SECONDS = 3600

/**
 * Appends a hand-off's events to a config's buffer unless it was appended (or spilled) before; its
 * answer then is the one it got the first time. Buffered events count against the caps of pending
 * events with the delivery jobs of their config, team and all teams (EXPORT_MAX_PENDING_EVENTS,
 * EXPORT_TEAM_…, EXPORT_FLEET_…), as a delivery's are admitted (pending-events.ts): past a cap the
 * events are not buffered and are answered as spilled there, unless nothing is pending or buffered
 * there yet. KEYS: buffer, its bytes, buffered zset, appended marker, the config's, team's and
 * fleet's pending totals, the team's and fleet's buffered totals, the config's counted hash. ARGV:
 * marker TTL, now, config id, bytes, the three caps (0: none), team id, events, then the events.
 * Answers {bytes} or {0, limit, events held there}.
 */
const APPEND = `
local mark = redis.call('GET', KEYS[4])
if mark == '1' then return {-1} end
if mark then return {0, mark, 0} end
local events = tonumber(ARGV[9])
local held = {
  config = tonumber(redis.call('GET', KEYS[5]) or '0') + redis.call('LLEN', KEYS[1]),
  team = tonumber(redis.call('GET', KEYS[6]) or '0') + tonumber(redis.call('GET', KEYS[8]) or '0'),
  fleet = tonumber(redis.call('GET', KEYS[7]) or '0') + tonumber(redis.call('GET', KEYS[9]) or '0'),
}
local caps = {config = tonumber(ARGV[5]), team = tonumber(ARGV[6]), fleet = tonumber(ARGV[7])}
for _, level in ipairs({'config', 'team', 'fleet'}) do
  if caps[level] > 0 and held[level] > 0 and held[level] + events > caps[level] then
    redis.call('SET', KEYS[4], level, 'EX', ARGV[1])
    return {0, level, held[level]}
  end
end
redis.call('SET', KEYS[4], '1', 'EX', ARGV[1])
for i = 10, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('ZADD', KEYS[3], 'NX', ARGV[2], ARGV[3])
redis.call('INCRBY', KEYS[8], events)
redis.call('INCRBY', KEYS[9], events)
redis.call('HSET', KEYS[10], 'team', ARGV[8])
redis.call('HINCRBY', KEYS[10], 'events', events)
return {redis.call('INCRBY', KEYS[2], ARGV[4])}
`

// An unfinished flush is returned again instead of taking new events, so it is finished (its job
// added, idempotently) before anything else; the rename makes taking the buffer atomic.
const TAKE = `
local id = redis.call('GET', KEYS[5])
if id then return {id, redis.call('LRANGE', KEYS[4], 0, -1)} end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return false
end
redis.call('RENAME', KEYS[1], KEYS[4])
redis.call('DEL', KEYS[2])
-- Out of the buffer: its events count as pending once their delivery job is admitted.
local team, counted = unpack(redis.call('HMGET', KEYS[7], 'team', 'events'))
if team and counted then
  for _, key in ipairs({ARGV[4] .. team, KEYS[8]}) do
    if redis.call('DECRBY', key, counted) <= 0 then redis.call('DEL', key) end
  end
end
redis.call('DEL', KEYS[7])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SET', KEYS[5], ARGV[2])
redis.call('ZADD', KEYS[6], ARGV[3], ARGV[1])
return {ARGV[2], redis.call('LRANGE', KEYS[4], 0, -1)}
`

const FINISH = `
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
  return 1
end
return 0
`

export interface FlushResult {
  batchId: string
  events: number
}

/**
 * Per-config exportEvents buffers, kept in Redis rather than in an exporter's memory: a hand-off is
 * acknowledged only once its events are in the buffer, and a flush moves the whole buffer into one
 * delivery job, so a SIGKILL at any point loses nothing and no batch is flushed twice.
 */
export class ExportBuffer {
  private readonly keys: ExportKeys

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly queue: DeliveryQueue,
    /** Without it (tests), buffers are not held to the caps of pending events. */
    private readonly overflow: DeliveryOverflow | null = null,
  ) {
    this.keys = exportKeys(prefix)
  }

  /**
   * Appends unless this hand-off was already appended; returns the buffer's bytes, or null when
   * skipped: appended before, or past a cap of pending events (then kept as a dead letter, as a live
   * delivery there is no room for).
   */
  async append(configId: number, handoffId: string, events: readonly ProcessedPluginEvent[]): Promise<number | null> {
    if (events.length === 0) return null
    const serialized = events.map((e) => JSON.stringify(e))
    const bytes = serialized.reduce((sum, s) => sum + Buffer.byteLength(s), 0)
    const teamId = events[0].team_id
    const k = this.keys
    const caps = this.overflow ? liveCaps(this.overflow) : NO_CAPS
    const [result, limit, held] = (await this.redis.eval(
      APPEND,
      10,
      k.buffer(configId),
      k.bufferBytes(configId),
      k.buffered(),
      k.appended(configId, handoffId),
      k.pendingEventsTotal(configId),
      k.teamPendingEventsTotal(teamId),
      k.fleetPendingEventsTotal(),
      k.teamBufferedEvents(teamId),
      k.fleetBufferedEvents(),
      k.bufferCounted(configId),
      APPENDED_TTL_SECONDS,
      Date.now(),
      configId,
      bytes,
      caps.config,
      caps.team,
      caps.fleet,
      teamId,
      events.length,
      ...serialized,
    )) as [number, PendingLimit?, number?]
    if (limit && this.overflow) {
      const delivery = {
        jobId: `a-${handoffId}-${configId}`,
        data: { configId, teamId, method: 'exportEvents' as const, events: [...events], source: { type: 'live' as const }, attempts: [] },
      }
      await this.overflow.spill(delivery, limit, held ?? 0)
    }
    return result > 0 ? result : null
  }

  /**
   * Turns the config's buffer into one delivery job. Safe to call from any number of exporters at
   * once: the buffer is taken atomically and the job id is the batch id, so each batch is one job.
   * An unfinished flush (its exporter died) is finished first, then the buffer is taken.
   */
  async flush(configId: number): Promise<FlushResult[]> {
    const results: FlushResult[] = []
    for (let round = 0; round < 2; round++) {
      const k = this.keys
      const batchId = `b-${configId}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
      const taken = (await this.redis.eval(
        TAKE,
        8,
        k.buffer(configId),
        k.bufferBytes(configId),
        k.buffered(),
        k.flushing(configId),
        k.flushingId(configId),
        k.flushingSince(),
        k.bufferCounted(configId),
        k.fleetBufferedEvents(),
        configId,
        batchId,
        Date.now(),
        k.teamBufferedEvents(''),
      )) as [string, string[]] | null
      if (!taken) break
      const [id, raw] = taken
      if (raw.length > 0) {
        const events = raw.map((s) => JSON.parse(s) as ProcessedPluginEvent)
        await this.queue.add([
          { jobId: id, data: { configId, teamId: events[0].team_id, method: 'exportEvents', events, source: { type: 'live' }, attempts: [] } },
        ])
        results.push({ batchId: id, events: events.length })
      }
      await this.redis.eval(FINISH, 3, k.flushing(configId), k.flushingId(configId), k.flushingSince(), id, configId)
      // A fresh take emptied the buffer; only a recovered one leaves new events behind.
      if (id === batchId) break
    }
    return results
  }

  /** Configs with buffered events and when their oldest buffered event arrived (ms). */
  async buffered(): Promise<{ configId: number; since: number }[]> {
    const flat = await this.redis.zrange(this.keys.buffered(), 0, -1, 'WITHSCORES')
    const out: { configId: number; since: number }[] = []
    for (let i = 0; i < flat.length; i += 2) out.push({ configId: Number(flat[i]), since: Number(flat[i + 1]) })
    return out
  }

  /** Configs whose flush started before `before` and is not finished: its exporter most likely died. */
  async unfinished(before: number): Promise<number[]> {
    return (await this.redis.zrangebyscore(this.keys.flushingSince(), '-inf', before)).map(Number)
  }

  async size(configId: number): Promise<{ events: number; bytes: number; since: number | null }> {
    const [events, bytes, since] = await Promise.all([
      this.redis.llen(this.keys.buffer(configId)),
      this.redis.get(this.keys.bufferBytes(configId)),
      this.redis.zscore(this.keys.buffered(), String(configId)),
    ])
    return { events, bytes: Number(bytes ?? 0), since: since === null ? null : Number(since) }
  }
}
