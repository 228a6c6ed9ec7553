import type Redis from 'ioredis'
import type { DeliveryQueue } from './delivery-queue'
import type { ProcessedPluginEvent } from './interfaces'
import { exportKeys, ExportKeys } from './keys'

/** How long a hand-off is remembered as buffered (a redelivery after that buffers it again: at-least-once). */
const APPENDED_TTL_SECONDS = 24 * 3600

const APPEND = `
if redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[1]) == false then return -1 end
for i = 5, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('ZADD', KEYS[3], 'NX', ARGV[2], ARGV[3])
return redis.call('INCRBY', KEYS[2], ARGV[4])
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
  ) {
    this.keys = exportKeys(prefix)
  }

  /** Appends unless this hand-off was already appended; returns the buffer's bytes (or null when skipped). */
  async append(configId: number, handoffId: string, events: readonly ProcessedPluginEvent[]): Promise<number | null> {
    if (events.length === 0) return null
    const serialized = events.map((e) => JSON.stringify(e))
    const bytes = serialized.reduce((sum, s) => sum + Buffer.byteLength(s), 0)
    const k = this.keys
    const result = await this.redis.eval(
      APPEND,
      4,
      k.buffer(configId),
      k.bufferBytes(configId),
      k.buffered(),
      k.appended(configId, handoffId),
      APPENDED_TTL_SECONDS,
      Date.now(),
      configId,
      bytes,
      ...serialized,
    )
    return Number(result) < 0 ? null : Number(result)
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
        6,
        k.buffer(configId),
        k.bufferBytes(configId),
        k.buffered(),
        k.flushing(configId),
        k.flushingId(configId),
        k.flushingSince(),
        configId,
        batchId,
        Date.now(),
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
