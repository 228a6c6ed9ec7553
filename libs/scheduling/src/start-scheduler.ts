import { createWorker, QUEUES, RoleContext, RunningRole, subscribeReload } from '@plugin-server/core'
import type { PluginRuntime } from '@plugin-server/plugin-runtime'
import type { Worker } from 'bullmq'
import { EventsPartitionMaintainer } from './events-partition-maintainer'
import type { ScheduledTaskData, SchedulingConfig } from './interfaces'
import { RunMarker } from './run-marker'
import { createScheduledQueue } from './scheduled-queue'
import { createSchedulerMetrics } from './scheduler-metrics'
import { TaskRunner } from './task-runner'
import { Timekeeper } from './timekeeper'

export interface StartedScheduler extends RunningRole {
  timekeeper: Timekeeper
  worker: Worker<ScheduledTaskData>
  eventsPartitions: EventsPartitionMaintainer
}

/**
 * The scheduler role: a BullMQ worker on the `scheduled` queue (any replica runs any chain's next
 * run, one at a time per chain) and the timekeeper that keeps one chain per (config, task). It also
 * keeps the events table's daily partitions (created ahead, dropped after EVENTS_RETENTION_DAYS).
 */
export async function startScheduler(ctx: RoleContext, runtime: PluginRuntime, config: SchedulingConfig): Promise<StartedScheduler> {
  const { logger, registry } = ctx
  const { queuePrefix, timeScale, plugins } = ctx.config
  const redis = ctx.newRedisConnection('scheduler')
  const queue = createScheduledQueue(ctx.newRedisConnection('scheduled-queue'), queuePrefix)
  const metrics = createSchedulerMetrics(registry)
  const marker = new RunMarker(redis, queuePrefix, plugins.timeoutMs + config.schedulerLockDurationMs)
  const deps = { manager: runtime.manager, queue, redis, pool: ctx.pool(), logger, metrics, queuePrefix, timeScale }
  const runner = new TaskRunner({ ...deps, logs: runtime.services.logs, marker })
  const timekeeper = new Timekeeper(deps)
  const eventsPartitions = new EventsPartitionMaintainer(ctx.pool(), logger, registry, ctx.config.events)
  eventsPartitions.start()

  const worker = createWorker<ScheduledTaskData>(QUEUES.scheduled, (job) => runner.run(job), ctx.newRedisConnection('scheduler-worker'), queuePrefix, {
    concurrency: config.schedulerConcurrency,
    // The lease: renewed every half of it while the run goes on, so a slow run keeps it; a dead replica's run is taken over once it expires.
    lockDuration: config.schedulerLockDurationMs,
    stalledInterval: config.schedulerStalledIntervalMs,
    // A run stalls only when its replica died; it must be taken over, not failed.
    maxStalledCount: 1000,
  })
  worker.on('failed', (job, err) =>
    logger.warn({ job_id: job?.id, data: job?.data, err: err.message }, 'scheduled run failed; the reconciler re-creates its chain'),
  )
  worker.on('error', (err) => logger.warn({ err: err.message }, 'scheduler worker error'))

  const reconcile = (why: string) => void timekeeper.reconcile().catch((err: Error) => logger.warn({ err: err.message, why }, 'scheduler reconcile failed'))
  await timekeeper.reconcile().catch((err: Error) => logger.warn({ err: err.message }, 'first scheduler reconcile failed; retrying periodically'))
  const timer = setInterval(() => reconcile('periodic'), config.schedulerReconcileIntervalMs)
  timer.unref()
  // The manager re-reads configs on the same messages; refresh() joins its re-read, then the chains follow.
  await subscribeReload(ctx.newRedisConnection('scheduler-reload'), queuePrefix, () => {
    runtime.manager
      .refresh()
      .catch(() => undefined)
      .finally(() => reconcile('reload'))
  })

  return {
    timekeeper,
    worker,
    eventsPartitions,
    workers: [worker],
    closers: [
      { name: 'events partition maintenance', close: () => eventsPartitions.close() },
      { name: 'scheduler worker', close: () => worker.close() },
      {
        name: 'scheduler reconciler',
        close: async () => {
          clearInterval(timer)
          await timekeeper.reconcile().catch(() => undefined)
        },
      },
      ...runtime.closers,
      { name: 'scheduled queue', close: () => queue.close() },
    ],
    checks: [
      ...runtime.checks,
      {
        name: 'scheduler worker',
        check: async () => {
          if (!worker.isRunning()) throw new Error('scheduler worker is not running')
        },
      },
    ],
  }
}
