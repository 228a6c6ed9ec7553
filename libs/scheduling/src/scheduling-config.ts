import type { Config } from '@plugin-server/core'
import type { SchedulingConfig } from './interfaces'

/** The scheduler's and job-worker's settings, from the one validated configuration (SCHEDULER_*, JOB_WORKER_*). */
export function schedulingConfig(config: Pick<Config, 'scheduler' | 'jobWorker'>): SchedulingConfig {
  return {
    schedulerLockDurationMs: config.scheduler.lockDurationMs,
    // Stalled runs are looked for four times per lease, so a crashed holder's run restarts soon after its lease ends.
    schedulerStalledIntervalMs: Math.max(250, Math.floor(config.scheduler.lockDurationMs / 4)),
    schedulerReconcileIntervalMs: config.scheduler.reconcileIntervalMs,
    schedulerConcurrency: config.scheduler.concurrency,
    schedulerTeamConcurrency: config.scheduler.teamConcurrency,
    schedulerStuckAfterMs: config.scheduler.stuckAfterMs,
    schedulerStuckExtraSlots: config.scheduler.stuckExtraSlots,
    schedulerShards: config.scheduler.shards,
    jobWorkerConcurrency: config.jobWorker.concurrency,
    jobWorkerTeamConcurrency: config.jobWorker.teamConcurrency,
    jobWorkerStuckAfterMs: config.jobWorker.stuckAfterMs,
    jobWorkerStuckExtraSlots: config.jobWorker.stuckExtraSlots,
    jobWorkerLockDurationMs: config.jobWorker.lockDurationMs,
  }
}
