import { dueAfter, type TaskSchedule } from '@plugin-server/scheduling'
import type Redis from 'ioredis'
import type { Pool } from 'pg'

export interface Run {
  start: number
  end: number
}

/** What the scheduling-recorder fixture wrote to meta.cache (Redis) from inside the sandbox. */
export async function recordedRuns(redis: Redis, prefix: string, pluginId: number, teamId: number): Promise<{ starts: number[]; runs: Run[] }> {
  const key = (name: string) => `${prefix}:cache:${pluginId}:${teamId}:${name}`
  const starts = (await redis.lrange(key('starts'), 0, -1)).map(Number).sort((a, b) => a - b)
  const runs = (await redis.lrange(key('runs'), 0, -1)).map((raw) => JSON.parse(raw) as Run).sort((a, b) => a.start - b.start)
  return { starts, runs }
}

/** Pairs of consecutive runs where the next began before the previous ended. */
export function overlaps(runs: Run[]): [Run, Run][] {
  return runs.slice(1).flatMap((run, i) => (run.start < runs[i].end ? [[runs[i], run] as [Run, Run]] : []))
}

/** The due time a run that started at `start` belongs to (the latest one not after it; a run may start a few ms early by its clock). */
export function dueOf(schedule: TaskSchedule, start: number): number {
  return dueAfter(schedule, start + 20 - schedule.intervalMs)
}

/** Time from the end of each run to the start of the next. */
export function gaps(runs: Run[]): number[] {
  return runs.slice(1).map((run, i) => run.start - runs[i].end)
}

export async function pluginLogMessages(pool: Pool, pluginConfigId: number): Promise<string[]> {
  const { rows } = await pool.query<{ message: string }>('SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 ORDER BY id', [pluginConfigId])
  return rows.map((r) => r.message)
}

/**
 * A fleet whose minute lasts 60 000 / timeScale ms, with a short lease and chains and configs
 * re-read every second, logging each run (debug): what the scheduler tests run against.
 */
export function fastSchedulerEnv(timeScale: number, leaseMs: number): Record<string, string> {
  return {
    TIME_SCALE: String(timeScale),
    SCHEDULER_LOCK_DURATION_MS: String(leaseMs),
    SCHEDULER_RECONCILE_INTERVAL_MS: '1000',
    PLUGIN_RECONCILE_INTERVAL_MS: '1000',
    LOG_LEVEL: 'debug',
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
