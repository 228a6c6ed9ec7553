import { schedulerChainId } from '@plugin-server/core'
import type { ScheduledTask } from './interfaces'

const INTERVAL_MS: Record<ScheduledTask, number> = {
  runEveryMinute: 60_000,
  runEveryHour: 3_600_000,
  runEveryDay: 86_400_000,
}

/** Time between two due times of a chain (task-schedule.ts); TIME_SCALE shortens it in tests. */
export function taskIntervalMs(task: ScheduledTask, timeScale: number): number {
  return Math.max(1, Math.round(INTERVAL_MS[task] / timeScale))
}

/** Deduplication id of a chain (core, where a deleted config's cleanup finds it too). */
export function chainId(pluginConfigId: number, task: ScheduledTask): string {
  return schedulerChainId(pluginConfigId, task)
}
