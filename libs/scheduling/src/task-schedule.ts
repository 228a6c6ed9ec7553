import type { ScheduledTask } from './interfaces'
import { taskIntervalMs } from './task-interval'

/**
 * When a chain's runs are due: `k × intervalMs + phaseMs` for whole k, counted from the Unix epoch,
 * so in UTC minutes, hours and days. The phase lies in the first half of the interval: a run
 * shorter than half its interval starts within its own UTC period, and the configs' runs are spread
 * over that half instead of all falling due at :00.
 */
export interface TaskSchedule {
  intervalMs: number
  phaseMs: number
}

export function taskSchedule(pluginConfigId: number, task: ScheduledTask, timeScale: number): TaskSchedule {
  const intervalMs = taskIntervalMs(task, timeScale)
  return { intervalMs, phaseMs: Math.floor(unitHash(`${pluginConfigId}:${task}`) * Math.floor(intervalMs / 2)) }
}

/** The first due time strictly after `time`. */
export function dueAfter(schedule: TaskSchedule, time: number): number {
  const { intervalMs, phaseMs } = schedule
  return (Math.floor((time - phaseMs) / intervalMs) + 1) * intervalMs + phaseMs
}

/**
 * The due time of the successor of a run due at `dueAt` that starts at `startedAt`: the next one, and
 * never one in the period the run started in, so a run started late (every replica down, a takeover
 * after the lease) is that period's one run and the missed periods are skipped, as PostHog's cron
 * skipped a run while the last one went on.
 */
export function nextDue(schedule: TaskSchedule, dueAt: number, startedAt: number): number {
  return Math.max(dueAfter(schedule, dueAt), periodDue(schedule, startedAt) + schedule.intervalMs)
}

/**
 * When a new (or lost, or re-enabled) chain first runs. runEveryMinute runs within the current
 * minute, at its due time there or at once if that passed, so an enabled config does not wait for its
 * first run; hour and day wait for their next due time, as PostHog's cron did. Never in the period the
 * chain's last run ended in (`lastFinish`), so a config disabled and enabled again does not run twice in one.
 * A last run that ended after `now` was recorded by a replica whose clock was ahead: taken as ending
 * now, or the chain's first run would wait as long as that clock was wrong (six hours ahead, six hours
 * without a run, long after the clock was put right).
 */
export function firstDue(schedule: TaskSchedule, task: ScheduledTask, now: number, lastFinish: number | null): number {
  const earliest = task === 'runEveryMinute' ? Math.max(periodDue(schedule, now), now) : dueAfter(schedule, now)
  return lastFinish === null ? earliest : Math.max(earliest, periodDue(schedule, Math.min(lastFinish, now)) + schedule.intervalMs)
}

/** The due time in the period (UTC minute, hour or day) `time` falls in. */
function periodDue(schedule: TaskSchedule, time: number): number {
  return Math.floor(time / schedule.intervalMs) * schedule.intervalMs + schedule.phaseMs
}

/** FNV-1a with murmur3's finalizer, in [0, 1): neighbouring config ids land far apart. */
export function unitHash(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b)
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35)
  return ((hash ^ (hash >>> 16)) >>> 0) / 2 ** 32
}
