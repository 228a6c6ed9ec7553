import type { ConfigEvictionRank } from '@plugin-server/plugin-runtime'
import type { PluginMethodName } from '@plugin-server/plugin-vm'
import { SCHEDULED_TASKS } from './interfaces'
import { taskIntervalMs } from './task-interval'
import { dueAfter, TaskSchedule, taskSchedule, unitHash } from './task-schedule'

/**
 * Which idle config a scheduler replica evicts first when it has more configs than
 * PLUGIN_MAX_LIVE_INSTANCES (the highest ranked). A config's next run is, over the tasks it exports,
 * the soonest of each task's latest due time if the config has not been used since (the run waits
 * or is late), else its next one.
 * - No task: Infinity, evicted first.
 * - Next run within the horizon (a twelfth of a minute: 5 s): kept longest, ranked by how soon (at
 *   most 1; a late run's is below 0). Reloading it would hold its run up.
 * - Beyond the horizon: ranks in (2, 4), in a fixed order by a hash of the config id, those with
 *   nothing due within a minute (hour and day tasks) above the others.
 *
 * Why not recency: the minute's runs come round in the same order every minute, so the least
 * recently used config is the one due next, and a replica reloaded every config on every run. Why
 * not the next run alone (evicting the config due last, Belady's rule): it reloads as few configs,
 * but the ones it keeps are those loaded first, due in one stretch of the minute, so the others fall
 * due together and reload in one burst (1 500 of 5 000 configs in the last 9 s of the first half of
 * each minute, at up to 187 a second). In hash order the kept configs, and so the reloads, are
 * spread over the minute (at most 65 a second).
 */
export function scheduledEvictionRank(timeScale: number, now: () => number = Date.now): ConfigEvictionRank {
  const minuteMs = taskIntervalMs('runEveryMinute', timeScale)
  const horizonMs = minuteMs / 12
  // A pool's scan ranks every idle instance (3 500 of them, once per 16 evictions or per second):
  // what a config's rank needs besides the time is worked out once per instance (its methods list).
  const known = new WeakMap<readonly string[], { pluginConfigId: number; schedules: TaskSchedule[]; order: number }>()
  const fixed = (pluginConfigId: number, methods: readonly PluginMethodName[]) => {
    const cached = known.get(methods)
    if (cached?.pluginConfigId === pluginConfigId) return cached
    const schedules = SCHEDULED_TASKS.filter((task) => methods.includes(task)).map((task) => taskSchedule(pluginConfigId, task, timeScale))
    const entry = { pluginConfigId, schedules, order: unitHash(`${pluginConfigId}:eviction`) }
    known.set(methods, entry)
    return entry
  }
  return (pluginConfigId, methods, lastUsedAt) => {
    const { schedules, order } = fixed(pluginConfigId, methods)
    if (schedules.length === 0) return Infinity
    const time = now()
    let nextRun = Infinity
    for (const schedule of schedules) {
      const latestDue = dueAfter(schedule, time - schedule.intervalMs)
      nextRun = Math.min(nextRun, lastUsedAt < latestDue ? latestDue : latestDue + schedule.intervalMs)
    }
    const untilRun = nextRun - time
    if (untilRun <= horizonMs) return untilRun / horizonMs
    return (untilRun <= minuteMs ? 2 : 3) + order
  }
}
