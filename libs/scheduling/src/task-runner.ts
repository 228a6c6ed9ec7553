import { hasDeduplicatedSuccessor, type Logger } from '@plugin-server/core'
import { ActiveConfig, logTarget, PluginConfigUnavailableError, PluginLogWriter, PluginManager } from '@plugin-server/plugin-runtime'
import { redact } from '@plugin-server/secrets'
import { PluginError, PluginLimitError } from '@plugin-server/plugin-vm'
import type { Job } from 'bullmq'
import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { readConfigStatus } from './config-status'
import type { ScheduledTaskData } from './interfaces'
import type { RunMarker } from './run-marker'
import { successorOptions } from './scheduled-queue'
import type { ScheduledQueues } from './scheduled-queues'
import type { SchedulerMetrics } from './scheduler-metrics'
import { schedulingKeys } from './scheduling-keys'
import { chainId } from './task-interval'
import { dueAfter, nextDue, TaskSchedule, taskSchedule } from './task-schedule'
import { recordTaskRun, TaskRunRecord } from './task-run-history'

export interface TaskRunnerDeps {
  manager: PluginManager
  queues: ScheduledQueues
  redis: Redis
  pool: Pool
  logs: PluginLogWriter
  logger: Logger
  metrics: SchedulerMetrics
  marker: RunMarker
  queuePrefix: string
  timeScale: number
}

/**
 * Runs one job of the `scheduled` queue: one run of one task of one config. It never throws for a
 * plugin's failure, so a failing task keeps its schedule; the chain ends only when the config is
 * disabled, deleted, or no longer exports the task.
 */
export class TaskRunner {
  constructor(private readonly deps: TaskRunnerDeps) {}

  async run(job: Job<ScheduledTaskData>): Promise<void> {
    const { queues, logger, metrics, logs } = this.deps
    const { pluginConfigId, task } = job.data
    const startedAt = Date.now()
    const chain = chainId(pluginConfigId, task)
    const log = logger.child({ plugin_config_id: pluginConfigId, task, job_id: job.id })

    const queue = queues.forConfig(pluginConfigId)
    if (job.queueName !== queue.name) {
      // SCHEDULER_SHARDS changed: the reconciler re-creates the chain in its shard, from its last end.
      metrics.runs.inc({ task, outcome: 'dropped' })
      log.info({ queue: job.queueName, shard_queue: queue.name }, 'scheduled task dropped: its chain now lives in another shard, the chain ends here')
      return
    }
    const status = await readConfigStatus(this.deps.pool, pluginConfigId)
    if (!status?.enabled) {
      metrics.runs.inc({ task, outcome: 'dropped' })
      log.info(`scheduled task dropped: plugin config ${status ? 'disabled' : 'deleted'}, the chain ends`)
      return
    }
    const active = await this.activeConfig(pluginConfigId)
    if (active && !active.methods.includes(task)) {
      metrics.runs.inc({ task, outcome: 'dropped' })
      log.info('scheduled task dropped: the plugin no longer exports it, the chain ends')
      return
    }
    const schedule = taskSchedule(pluginConfigId, task, this.deps.timeScale)
    // A run queued before due times were kept in the data was due when BullMQ made it due.
    const dueAt = job.data.dueAt ?? job.timestamp + (job.opts.delay ?? 0)
    // Before running, so a replica dying mid-run cannot end the chain: BullMQ keeps the successor aside until this run ends.
    const next = await this.addSuccessor(job, schedule, nextDue(schedule, dueAt, Date.now()))
    metrics.startDriftSeconds.observe({ task }, Math.max(0, startedAt - dueAt) / 1000)
    if (job.stalledCounter > 0) {
      metrics.takeovers.inc({ task })
      log.warn({ stalled: job.stalledCounter }, 'scheduled task taken over after the replica running it died')
    }
    if (!active) {
      metrics.runs.inc({ task, outcome: 'skipped' })
      const why = `${task} skipped: the plugin is not set up (setupPlugin has not succeeded yet)`
      logs.write(status.target, 'SYSTEM', 'WARN', why)
      await this.history(chain, { started_at: new Date(startedAt).toISOString(), duration_ms: 0, outcome: 'error', error: why })
      return
    }

    const jobId = job.id ?? chain
    if (await this.deps.marker.enter(chain, jobId)) {
      metrics.overlaps.inc({ task })
      log.error('scheduled task overlap: another run of this task of this config is still marked running')
    }
    log.debug('scheduled task started')
    const timer = metrics.durationSeconds.startTimer({ task })
    const runStart = Date.now()
    let error: string | null = null
    try {
      // The next run is this one's retry: a run that spent its deadline waiting (a slow warehouse
      // sync) is not a breach towards disabling the config; one that spent it computing is.
      await active.use((instance) => instance.call(task, [], { retriedWhenWaiting: true }))
      metrics.runs.inc({ task, outcome: 'success' })
    } catch (err) {
      error = this.report(active, task, err as Error)
    } finally {
      timer()
      const finished = Date.now()
      await this.realign(job, schedule, finished >= next ? dueAfter(schedule, finished) : next, log)
      await this.deps.marker.leave(chain, jobId)
      await this.deps.redis.hset(schedulingKeys.lastFinish(this.deps.queuePrefix), chain, String(finished))
      const run: TaskRunRecord = { started_at: new Date(runStart).toISOString(), duration_ms: finished - runStart, outcome: error === null ? 'ok' : 'error' }
      await this.history(chain, error === null ? run : { ...run, error })
      log.debug('scheduled task finished')
    }
  }

  /**
   * BullMQ counts the delay from the run's end, so the one added at its start only stands for a run
   * that never ends here (a replica dying); realign sets it again from the end. A delay is at most 1.5
   * intervals (a late run that started early in a period skips that period's due time); capped at two,
   * so a replica whose clock is behind cannot hold the chain back by its error. Adding again while the
   * run is active replaces the stored successor.
   */
  private async addSuccessor(job: Job<ScheduledTaskData>, schedule: TaskSchedule, next: number): Promise<number> {
    const { pluginConfigId, task } = job.data
    const delay = Math.max(0, Math.min(next - Date.now(), 2 * schedule.intervalMs))
    await this.deps.queues.forConfig(pluginConfigId).add(task, { ...job.data, dueAt: next }, successorOptions(chainId(pluginConfigId, task), delay))
    return next
  }

  /**
   * The delay set at the start, counted from the end, would start the successor this run's duration
   * late: a run longer than its interval's second half (less its phase) pushed it into the period after
   * its own, which then got no run, every other period. So every run re-aims it from its end: at its due
   * time, or, for a run that went past that, at the first due time left, as PostHog's cron skipped the
   * periods a run overlapped. Only while one is stored: the reconciler drops it when the config is disabled.
   */
  private async realign(job: Job<ScheduledTaskData>, schedule: TaskSchedule, next: number, log: Logger): Promise<void> {
    const { pluginConfigId, task } = job.data
    try {
      if (await hasDeduplicatedSuccessor(this.deps.redis, this.deps.queues.forConfig(pluginConfigId), chainId(pluginConfigId, task)))
        await this.addSuccessor(job, schedule, next)
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'scheduled task successor not moved to its due time: it starts late once')
    }
  }

  /** Best effort: the history is for people, the schedule must not depend on it. */
  private async history(chain: string, run: TaskRunRecord): Promise<void> {
    await recordTaskRun(this.deps.redis, this.deps.queuePrefix, chain, run).catch((err: Error) =>
      this.deps.logger.warn({ chain, err: err.message }, 'scheduled run not recorded in the task history'),
    )
  }

  /** Postgres says enabled but this replica may not have read the config yet (reload in flight). */
  private async activeConfig(id: number): Promise<ActiveConfig | null> {
    const { manager } = this.deps
    if (!manager.knows(id)) await manager.refresh()
    return manager.config(id)
  }

  /** Logs the failure; returns what the task history shows of it (redacted). */
  private report(active: ActiveConfig, task: ScheduledTaskData['task'], err: Error): string {
    const target = logTarget(active.record)
    const message = redact(err.message, target.secrets)
    if (err instanceof PluginLimitError) {
      this.deps.metrics.runs.inc({ task, outcome: 'timeout' })
      const text = `${task} stopped (${err.limit} limit): ${message}`
      this.deps.logs.write(target, 'SYSTEM', 'ERROR', `${text}; the schedule goes on`)
      return text
    }
    this.deps.metrics.runs.inc({ task, outcome: 'error' })
    // A PluginError's message already names the plugin, the config and the method.
    const text = err instanceof PluginError ? message : `${task} failed: ${message}`
    // The server failing to load the config again (after an eviction) is not the plugin's error.
    const source = err instanceof PluginConfigUnavailableError ? 'SYSTEM' : 'PLUGIN'
    this.deps.logs.write(target, source, 'ERROR', `${text}; the schedule goes on`, err instanceof PluginError ? err.pluginStack : undefined)
    return text
  }
}
