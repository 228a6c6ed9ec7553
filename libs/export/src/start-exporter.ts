import type { Worker } from 'bullmq'
import { createWorker, ExportBatch, failedForGood, QUEUES, RoleContext, RunningRole, StuckSlots } from '@plugin-server/core'
import { listUnfinishedHistoricalRuns } from '@plugin-server/db'
import { PluginRuntime, startPluginRuntime } from '@plugin-server/plugin-runtime'
import { fetchGuard } from '@plugin-server/plugin-vm'
import { exportBackoffStrategy } from './backoff-strategy'
import { DeliveryProcessor } from './delivery-processor'
import { DeliveryQueue, NewDelivery } from './delivery-queue'
import { ExportBuffer } from './export-buffer'
import { ExportMetrics } from './export-metrics'
import { exportingConfigs } from './exporting-configs'
import { exportSettings } from './export-settings'
import { fanOut } from './fan-out'
import { TeamRereads } from './team-rereads'
import { flushDue } from './flush-due'
import { HistoricalJobData, HistoricalQueue } from './historical-queue'
import { HistoricalRunner } from './historical-runner'
import type { DeliveryJobData, ExportSettings } from './interfaces'
import { DELIVERIES_QUEUE } from './keys'
import type { PendingLimit } from './pending-events'
import { registerPendingGauges } from './pending-gauges'
import { spillDelivery } from './spill-delivery'

/** Historical runs one exporter drives at once. */
const HISTORICAL_RUNS_PER_EXPORTER = 4
/** Of those, the most one team's runs hold: its others wait, so another team's run finds a slot. */
const HISTORICAL_RUNS_PER_TEAM = HISTORICAL_RUNS_PER_EXPORTER / 2

export interface RunningExporter extends RunningRole {
  runtime: PluginRuntime
  buffer: ExportBuffer
  deliveries: DeliveryQueue
  deliveryWorker: Worker<DeliveryJobData, string>
  fanOutWorker: Worker<ExportBatch, string>
  historicalWorker: Worker<HistoricalJobData, string>
  /** Flushes the buffers that are due now (also runs on a timer). */
  flushDue: (all?: boolean) => Promise<number>
}

/**
 * The exporter role: ingest hand-offs are fanned out per config (buffers, delivery jobs), buffers
 * are flushed by size, age and on shutdown, and delivery jobs run with retries and dead letters.
 */
export async function startExporter(ctx: RoleContext, settings: ExportSettings = exportSettings(ctx.config)): Promise<RunningExporter> {
  const { config, logger } = ctx
  const prefix = config.queuePrefix
  const runtime = await startPluginRuntime(ctx)
  const { manager } = runtime
  const redis = ctx.newRedisConnection('export')
  const metrics = new ExportMetrics(ctx.registry, redis, prefix)
  manager.onConfigDeleted((id) => void metrics.forget(id))
  const { maxPendingEvents, maxTeamPendingEvents, maxFleetPendingEvents } = settings
  const limits = { maxPendingEvents, maxTeamPendingEvents, maxFleetPendingEvents }
  const spill = { pool: ctx.pool(), manager, metrics, logs: runtime.services.logs, logger, ...limits }
  const overflow = { ...limits, spill: (delivery: NewDelivery, limit: PendingLimit, pending: number) => spillDelivery(spill, delivery, limit, pending) }
  const deliveries = new DeliveryQueue(ctx.newRedisConnection('export-deliveries'), prefix, overflow)
  const buffer = new ExportBuffer(redis, prefix, deliveries, overflow)
  registerPendingGauges(ctx.registry, redis, prefix, () => exportingConfigs(manager))
  const processor = new DeliveryProcessor({
    manager,
    pool: ctx.pool(),
    redis,
    queuePrefix: prefix,
    metrics,
    logs: runtime.services.logs,
    logger,
    settings,
    webhookGuard: fetchGuard(ctx.config.plugins.fetchAllowedHosts, undefined, runtime.services.closedServices),
  })
  const lock = { lockDuration: settings.lockDurationMs, stalledInterval: Math.max(1000, Math.floor(settings.lockDurationMs / 2)), maxStalledCount: 100 }
  const deliveryWorker = createWorker<DeliveryJobData, string>(
    DELIVERIES_QUEUE,
    processor.process,
    ctx.newRedisConnection('export-delivery-worker'),
    prefix,
    logger,
    {
      concurrency: settings.concurrency,
      ...lock,
      settings: { backoffStrategy: exportBackoffStrategy(settings.timeScale) },
      // Deliveries whose destinations or plugins hang stop counting against the slots once stuck, so
      // two or three teams at their EXPORT_TEAM_CONCURRENCY share never hold every slot.
      stuck: new StuckSlots({ afterMs: settings.stuckAfterMs, maxExtra: settings.stuckExtraSlots }),
    },
  )
  const rereads = new TeamRereads((teamId) => manager.reload({ reason: 'a hand-off names exporting configs this exporter did not know', teamId }))
  const fanOutWorker = createWorker<ExportBatch, string>(
    QUEUES.export,
    (job) => fanOut({ manager, buffer, deliveries, settings, rereads }, job),
    ctx.newRedisConnection('export-fanout-worker'),
    prefix,
    logger,
    {
      concurrency: settings.fanOutConcurrency,
      ...lock,
    },
  )
  const historicalQueue = new HistoricalQueue(ctx.newRedisConnection('export-historical'), prefix)
  const historical = new HistoricalRunner({ pool: ctx.pool(), redis, queuePrefix: prefix, deliveries, logger, teamShare: HISTORICAL_RUNS_PER_TEAM })
  // Runs mostly wait for the delivery workers, so a few at once cost little; one run is driven by one exporter at a time (its job's lock).
  const historicalWorker = createWorker<HistoricalJobData, string>(
    QUEUES.exportHistorical,
    historical.process,
    ctx.newRedisConnection('export-historical-worker'),
    prefix,
    logger,
    {
      concurrency: HISTORICAL_RUNS_PER_EXPORTER,
      ...lock,
    },
  )
  // A run whose job was never added (its starter died between the insert and the add) gets it now;
  // in the background, so a slow database does not hold up the start of the exporter.
  const reconciled = (async () => {
    for (const runId of await listUnfinishedHistoricalRuns(ctx.pool())) await historicalQueue.ensure(runId)
  })().catch((err: Error) => logger.warn({ err: err.message }, 'could not check that every unfinished historical run has its job'))
  historicalWorker.on('failed', (job, err) => {
    if (err.name !== 'DelayedError') logger.warn({ job_id: job?.id, err: err.message }, 'historical export run failed in this exporter, will retry')
  })
  // For good: a job whose data Redis evicted (assertJobData, UnrecoverableError), which no retry brings back, or its last attempt.
  fanOutWorker.on('failed', (job, err) =>
    logger.error(
      { job_id: job?.id, err: err.message },
      failedForGood(job, err) ? 'export hand-off failed for good' : 'export hand-off failed, will retry with backoff',
    ),
  )
  deliveryWorker.on('failed', (job, err) => {
    if (failedForGood(job, err))
      logger.error(
        { job_id: job?.id, plugin_config_id: job?.data.configId, team_id: job?.data.teamId, method: job?.data.method, err: err.message },
        'delivery failed for good',
      )
    else if (err.name !== 'RetryScheduled')
      logger.warn({ job_id: job?.id, plugin_config_id: job?.data.configId, err: err.message }, 'delivery attempt failed in the exporter, will retry')
  })
  let flushing: Promise<number> | null = null
  const flush = (all = false): Promise<number> => {
    // One sweep at a time per process; the timer skips a tick rather than piling up.
    const failed = (configId: number, err: Error) => logger.warn({ plugin_config_id: configId, err: err.message }, 'export buffer flush failed, will retry')
    flushing ??= flushDue(buffer, manager, settings, all, failed).finally(() => (flushing = null))
    return flushing
  }
  const timer = setInterval(() => void flush().catch((err: Error) => logger.warn({ err: err.message }, 'export buffer flush failed')), settings.flushIntervalMs)
  timer.unref()
  logger.info({ settings }, 'exporter settings')
  return {
    runtime,
    buffer,
    deliveries,
    deliveryWorker,
    fanOutWorker,
    historicalWorker,
    flushDue: flush,
    closers: [
      {
        name: 'historical export runs',
        close: async () => {
          // Runs go back to the queue at their next page for another exporter; this one stops taking new ones.
          historical.stop()
          await reconciled
          await historicalWorker.close()
          await historicalQueue.close()
        },
      },
      { name: 'export hand-offs', close: () => fanOutWorker.close() },
      {
        name: 'export buffers',
        close: async () => {
          clearInterval(timer)
          await flushing?.catch(() => 0)
          const batches = await flush(true)
          logger.info({ batches }, 'export buffers flushed on shutdown')
        },
      },
      { name: 'export deliveries', close: () => deliveryWorker.close() },
      ...runtime.closers,
      { name: 'export queue', close: () => deliveries.close() },
    ],
    checks: [
      ...runtime.checks,
      {
        name: 'export workers',
        check: async () => {
          if (!deliveryWorker.isRunning() || !fanOutWorker.isRunning() || !historicalWorker.isRunning()) throw new Error('an export worker is not running')
        },
      },
    ],
  }
}
