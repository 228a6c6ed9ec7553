import {
  createWorker,
  PLUGIN_JOB_BACKOFF,
  PluginJobData,
  pluginJobStarted,
  postpone,
  putBackDelayMs,
  QUEUES,
  RoleContext,
  RunningRole,
  SlotCounts,
  StuckSlots,
} from '@plugin-server/core'
import type { PluginRuntime } from '@plugin-server/plugin-runtime'
import type { Job, Worker } from 'bullmq'
import type { SchedulingConfig } from './interfaces'
import { createJobMetrics } from './job-metrics'
import { jobRetryDelayMs } from './job-retry'
import { JobRunner } from './job-runner'

/**
 * How long a job waits when its team already has its share of this worker's slots: this the first
 * time, twice that each time it is turned away again, at most eight times it (core putBackDelayMs).
 * At a fixed delay, each of a busy team's waiting jobs was fetched and put back twice a second.
 */
const TEAM_BUSY_DELAY_MS = 500
const TEAM_BUSY_MAX_DELAY_MS = 8 * TEAM_BUSY_DELAY_MS

export interface StartedJobWorker extends RunningRole {
  worker: Worker<PluginJobData>
}

/** The job-worker role: runs `meta.jobs` jobs when due; any number of replicas share the queue. */
export function startJobWorker(ctx: RoleContext, runtime: PluginRuntime, config: SchedulingConfig): StartedJobWorker {
  const { logger } = ctx
  const timeScale = ctx.config.timeScale
  const runner = new JobRunner({
    manager: runtime.manager,
    pool: ctx.pool(),
    logs: runtime.services.logs,
    logger,
    metrics: createJobMetrics(ctx.registry),
    timeScale,
    redis: runtime.services.redis,
    queuePrefix: ctx.config.queuePrefix,
  })
  // A team holds at most jobWorkerTeamConcurrency of the slots: a job of a team at its share waits in the delayed set (not an attempt).
  const teamSlots = new SlotCounts<number>()
  const process = async (job: Job<PluginJobData>, token?: string): Promise<void> => {
    const { teamId } = job.data
    if (teamSlots.held(teamId) >= config.jobWorkerTeamConcurrency) return postpone(job, putBackDelayMs(job, TEAM_BUSY_DELAY_MS, TEAM_BUSY_MAX_DELAY_MS), token)
    return teamSlots.within(teamId, async () => {
      // No longer counted among the team's waiting jobs, which rank its next ones (core addPluginJob).
      if (job.id) await pluginJobStarted(runtime.services.redis, ctx.config.queuePrefix, teamId, job.id)
      await runner.run(job, token)
    })
  }
  const worker = createWorker<PluginJobData>(QUEUES.jobs, process, ctx.newRedisConnection('job-worker'), ctx.config.queuePrefix, logger, {
    concurrency: config.jobWorkerConcurrency,
    // Jobs that hang stop counting against the slots once stuck, so two or three teams at their share never hold every slot.
    stuck: new StuckSlots({ afterMs: config.jobWorkerStuckAfterMs, maxExtra: config.jobWorkerStuckExtraSlots }),
    lockDuration: config.jobWorkerLockDurationMs,
    stalledInterval: Math.max(250, Math.floor(config.jobWorkerLockDurationMs / 4)),
    // A job stalls only when its worker died: run it again (at-least-once) rather than fail it.
    maxStalledCount: 100,
    settings: {
      backoffStrategy: (attemptsMade, type) => {
        if (type !== PLUGIN_JOB_BACKOFF) throw new Error(`unknown backoff strategy ${String(type)}`)
        return jobRetryDelayMs(attemptsMade, timeScale)
      },
    },
  })
  worker.on('failed', (job, err) =>
    err.name === 'DelayedError'
      ? undefined
      : logger.info(
          { job_id: job?.id, job: job?.name, plugin_config_id: job?.data.pluginConfigId, attempts: job?.attemptsMade, err: err.message },
          'plugin job attempt failed',
        ),
  )
  return {
    worker,
    workers: [worker],
    closers: [{ name: 'job worker', close: () => worker.close() }, ...runtime.closers],
    checks: [
      ...runtime.checks,
      {
        name: 'job worker',
        check: async () => {
          if (!worker.isRunning()) throw new Error('job worker is not running')
        },
      },
    ],
  }
}
