import { createExportQueue, RoleContext, RunningRole } from '@plugin-server/core'
import {
  createPluginChainMetrics,
  exportHandoff,
  forgetPluginChainSeries,
  ProcessingMetrics,
  processEventStep,
  startIngestConsumer,
} from '@plugin-server/ingestion'
import { startPluginRuntime } from '@plugin-server/plugin-runtime'

/** Ingest batches → each team's processEvent chain → Postgres → hand-off to the exporters, team by team. */
export async function start(ctx: RoleContext): Promise<RunningRole> {
  // Configs load on their team's first batch: the sandbox runtime they share is built before /readyz, not during that batch.
  const runtime = await startPluginRuntime(ctx, undefined, { prepare: true })
  const exportQueue = createExportQueue(ctx.newRedisConnection('export-queue'), ctx.config)
  const processing = new ProcessingMetrics(ctx.registry, runtime.services.redis, ctx.config.queuePrefix, ctx.logger)
  const chainMetrics = createPluginChainMetrics(ctx.registry)
  // Disabled or deleted: this worker no longer runs it, so its per-config series go (evicted ones stay, see forgetPluginChainSeries).
  runtime.manager.onConfigLeft((id) => void forgetPluginChainSeries(chainMetrics, id))
  const chain = processEventStep(runtime.manager, {
    pool: ctx.pool(),
    logs: runtime.services.logs,
    metrics: chainMetrics,
    processing,
    timeoutMs: ctx.config.plugins.processEventTimeoutMs,
    maxEventBytes: ctx.config.capture.maxEventBytes,
  })
  const consumer = startIngestConsumer(ctx, [chain], [exportHandoff(runtime.manager, exportQueue)])
  return {
    // The consumer stops and drains first, so no batch is left half through the plugins.
    closers: [
      ...consumer.closers,
      { name: 'processing metrics', close: () => processing.flush() },
      ...runtime.closers,
      { name: 'export queue', close: () => exportQueue.close() },
    ],
    checks: [...(consumer.checks ?? []), ...runtime.checks],
    workers: [consumer.worker],
  }
}
