import { createExportQueue, RoleContext, RunningRole } from '@plugin-server/core'
import { createPluginChainMetrics, exportHandoff, processEventStep, startIngestConsumer } from '@plugin-server/ingestion'
import { startPluginRuntime } from '@plugin-server/meta'

/** Ingest batches → each team's processEvent chain → Postgres → hand-off to the exporters, team by team. */
export async function start(ctx: RoleContext): Promise<RunningRole> {
  const runtime = await startPluginRuntime(ctx)
  const exportQueue = createExportQueue(ctx.newRedisConnection('export-queue'), ctx.config)
  const chain = processEventStep(runtime.manager, {
    pool: ctx.pool(),
    logs: runtime.services.logs,
    metrics: createPluginChainMetrics(ctx.registry),
    timeoutMs: ctx.config.plugins.processEventTimeoutMs,
  })
  const consumer = startIngestConsumer(ctx, [chain], [exportHandoff(runtime.manager, exportQueue)])
  return {
    // The consumer stops and drains first, so no batch is left half through the plugins.
    closers: [...consumer.closers, ...runtime.closers, { name: 'export queue', close: () => exportQueue.close() }],
    checks: [...(consumer.checks ?? []), ...runtime.checks],
    workers: [consumer.worker],
  }
}
