import type { Logger } from '@plugin-server/core'
import { ActiveConfig, logTarget, PluginLogWriter, PluginManager, redact } from '@plugin-server/meta'
import { PluginError, PluginLimitError } from '@plugin-server/plugin-vm'
import type { Job, Queue } from 'bullmq'
import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { readConfigStatus } from './config-status'
import type { ScheduledTaskData } from './interfaces'
import type { RunMarker } from './run-marker'
import { successorOptions } from './scheduled-queue'
import type { SchedulerMetrics } from './scheduler-metrics'
import { schedulingKeys } from './scheduling-keys'
import { chainId, taskIntervalMs } from './task-interval'

export interface TaskRunnerDeps {
  manager: PluginManager
  queue: Queue<ScheduledTaskData>
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
    const { queue, logger, metrics, logs } = this.deps
    const { pluginConfigId, task } = job.data
    const startedAt = Date.now()
    const chain = chainId(pluginConfigId, task)
    const log = logger.child({ plugin_config_id: pluginConfigId, task, job_id: job.id })

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
    // Before running, so a replica dying mid-run cannot end the chain: BullMQ keeps the successor aside until this run ends.
    await queue.add(task, job.data, successorOptions(chain, taskIntervalMs(task, this.deps.timeScale)))
    metrics.startDriftSeconds.observe({ task }, Math.max(0, startedAt - job.timestamp - (job.opts.delay ?? 0)) / 1000)
    if (job.stalledCounter > 0) {
      metrics.takeovers.inc({ task })
      log.warn({ stalled: job.stalledCounter }, 'scheduled task taken over after the replica running it died')
    }
    if (!active) {
      metrics.runs.inc({ task, outcome: 'skipped' })
      logs.write(status.target, 'SYSTEM', 'WARN', `${task} skipped: the plugin is not set up (setupPlugin has not succeeded yet)`)
      return
    }

    const jobId = job.id ?? chain
    if (await this.deps.marker.enter(chain, jobId)) {
      metrics.overlaps.inc({ task })
      log.error('scheduled task overlap: another run of this task of this config is still marked running')
    }
    log.debug('scheduled task started')
    const timer = metrics.durationSeconds.startTimer({ task })
    try {
      await active.use((instance) => instance.call(task, []))
      metrics.runs.inc({ task, outcome: 'success' })
    } catch (err) {
      this.report(active, task, err as Error)
    } finally {
      timer()
      await this.deps.marker.leave(chain, jobId)
      await this.deps.redis.hset(schedulingKeys.lastFinish(this.deps.queuePrefix), chain, String(Date.now()))
      log.debug('scheduled task finished')
    }
  }

  /** Postgres says enabled but this replica may not have read the config yet (reload in flight). */
  private async activeConfig(id: number): Promise<ActiveConfig | null> {
    const { manager } = this.deps
    if (!manager.enabledConfigs().some((r) => r.id === id)) await manager.refresh()
    return manager.config(id)
  }

  private report(active: ActiveConfig, task: ScheduledTaskData['task'], err: Error): void {
    const target = logTarget(active.record)
    const message = redact(err.message, target.secrets)
    if (err instanceof PluginLimitError) {
      this.deps.metrics.runs.inc({ task, outcome: 'timeout' })
      this.deps.logs.write(target, 'SYSTEM', 'ERROR', `${task} stopped (${err.limit} limit): ${message}; the schedule goes on`)
    } else {
      this.deps.metrics.runs.inc({ task, outcome: 'error' })
      // A PluginError's message already names the plugin, the config and the method.
      const text = err instanceof PluginError ? message : `${task} failed: ${message}`
      this.deps.logs.write(target, 'PLUGIN', 'ERROR', `${text}; the schedule goes on`)
    }
  }
}
