import type { RoleContext, RunningRole } from '@plugin-server/core'
import { startExporter } from '@plugin-server/export'

/** Ingest hand-offs → onEvent / onSnapshot / composeWebhook deliveries and exportEvents buffers → destinations. */
export async function start(ctx: RoleContext): Promise<RunningRole> {
  const exporter = await startExporter(ctx)
  return { closers: exporter.closers, checks: exporter.checks, workers: [exporter.fanOutWorker, exporter.deliveryWorker] }
}
