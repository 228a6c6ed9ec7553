import type Redis from 'ioredis'
import { redact, redactValue } from '@plugin-server/secrets'
import { redisKeys } from '@plugin-server/core'

export type JobRunState = 'queued' | 'running' | 'retrying' | 'completed' | 'failed'

/** One plugin job as the admin API shows it; `null` where not known (yet). */
export interface JobRunView {
  id: string
  name: string
  payload: unknown
  state: JobRunState
  attempts: number
  enqueued_at: string | null
  started_at: string | null
  finished_at: string | null
  duration_ms: number | null
  error: string | null
}

/** The job a state change is about. `payload` is recorded only with `secrets` to scrub it of. */
export interface JobRunRef {
  pluginConfigId: number
  jobId: string
  name: string
  enqueuedAt: string
  payload?: unknown
  secrets?: readonly string[]
}

/** Jobs kept per config (newest by enqueue time), and for how long after the last change. */
export const JOB_HISTORY_LENGTH = 100
export const JOB_HISTORY_TTL_MS = 7 * 24 * 3600 * 1000
const MAX_PAYLOAD_CHARS = 4096
const MAX_ERROR_CHARS = 2000

export const jobHistoryKeys = (queuePrefix: string, pluginConfigId: number) => ({
  /** ZSET job id → epoch ms it was enqueued: the order, and what falls off the end. */
  order: redisKeys(queuePrefix).jobRuns(pluginConfigId),
  /** HASH job id → JSON of its JobRunView fields (the payload as JSON text). */
  runs: redisKeys(queuePrefix).jobRunsData(pluginConfigId),
})

/**
 * Merges a change into a job's record: `set` fields overwrite, `fill` fields only fill what is not
 * there yet (an enqueue recorded after a fast worker already ran the job must not reset its
 * state). The oldest jobs beyond the cap are dropped with their records.
 */
const RECORD = `
local current = redis.call('HGET', KEYS[2], ARGV[1])
local record = {}
if current then record = cjson.decode(current) end
for k, v in pairs(cjson.decode(ARGV[3])) do record[k] = v end
for k, v in pairs(cjson.decode(ARGV[4])) do if record[k] == nil then record[k] = v end end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(record))
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[5])
if excess > 0 then
  local old = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
  redis.call('HDEL', KEYS[2], unpack(old))
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return 1
`

type Fields = Partial<Record<keyof JobRunView, string | number | null>>

/**
 * The recent runs of each config's plugin jobs, written by whoever enqueues (meta.jobs, the
 * trigger command and route) and by the job-worker. Recording is best effort: a Redis hiccup
 * never fails the job, it is reported through `warn`.
 */
export class JobHistory {
  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly warn: (err: Error) => void,
  ) {}

  queued(ref: JobRunRef): Promise<void> {
    return this.record(ref, {}, { state: 'queued', attempts: 0 })
  }

  running(ref: JobRunRef, attempt: number): Promise<void> {
    return this.record(ref, { state: 'running', attempts: attempt, started_at: new Date().toISOString(), finished_at: null, duration_ms: null })
  }

  /** `startedAt` (epoch ms) when the plugin ran; absent when the job ended without running (dropped, not set up). */
  finished(ref: JobRunRef, outcome: { state: 'completed' | 'retrying' | 'failed'; attempts: number; startedAt?: number; error: string | null }): Promise<void> {
    const now = Date.now()
    return this.record(ref, {
      state: outcome.state,
      attempts: outcome.attempts,
      finished_at: outcome.state === 'retrying' ? null : new Date(now).toISOString(),
      duration_ms: outcome.startedAt === undefined ? null : now - outcome.startedAt,
      error: outcome.error === null ? null : redact(outcome.error, ref.secrets ?? []).slice(0, MAX_ERROR_CHARS),
    })
  }

  private async record(ref: JobRunRef, set: Fields, fill: Fields = {}): Promise<void> {
    const keys = jobHistoryKeys(this.queuePrefix, ref.pluginConfigId)
    const known: Fields = { id: ref.jobId, name: ref.name, enqueued_at: ref.enqueuedAt, ...fill }
    if (ref.secrets && ref.payload !== undefined) known.payload = JSON.stringify(redactValue(ref.payload ?? null, ref.secrets)).slice(0, MAX_PAYLOAD_CHARS)
    const score = Date.parse(ref.enqueuedAt) || Date.now()
    try {
      await this.redis.eval(
        RECORD,
        2,
        keys.order,
        keys.runs,
        ref.jobId,
        String(score),
        JSON.stringify(set),
        JSON.stringify(known),
        String(JOB_HISTORY_LENGTH),
        String(JOB_HISTORY_TTL_MS),
      )
    } catch (err) {
      this.warn(err as Error)
    }
  }
}
