import type Redis from 'ioredis'
import { schedulingKeys } from './scheduling-keys'

/** One run of a scheduled task as the admin API shows it. */
export interface TaskRunRecord {
  started_at: string
  duration_ms: number
  /** `error` also for a run skipped because the plugin was not set up (duration 0). */
  outcome: 'ok' | 'error'
  /** Redacted of the config's secret values. */
  error?: string
}

/** Enough to see a pattern; kept a week past the last run, so a daily task's history survives. */
export const TASK_RUN_HISTORY_LENGTH = 20
export const TASK_RUN_HISTORY_TTL_SECONDS = 8 * 24 * 3600
const MAX_ERROR_CHARS = 2000

/** Prepends one run to the chain's history, in one round trip. */
export async function recordTaskRun(redis: Redis, queuePrefix: string, chain: string, run: TaskRunRecord): Promise<void> {
  const key = schedulingKeys.runs(queuePrefix, chain)
  const record: TaskRunRecord = run.error === undefined ? run : { ...run, error: run.error.slice(0, MAX_ERROR_CHARS) }
  await redis
    .multi()
    .lpush(key, JSON.stringify(record))
    .ltrim(key, 0, TASK_RUN_HISTORY_LENGTH - 1)
    .expire(key, TASK_RUN_HISTORY_TTL_SECONDS)
    .exec()
}
