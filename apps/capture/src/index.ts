import { createAdminApi } from '@plugin-server/admin-api'
import { createIngestQueue, EventBatcher, RoleContext, RunningRole } from '@plugin-server/core'
import { createCaptureMetrics, startCaptureServer, TeamResolver } from '@plugin-server/capture-lib'
import { registerPluginMetricsCollector } from '@plugin-server/meta'

/** The HTTP app: PostHog client requests in, ingest batches out; the admin API under /api/ on the same port. */
export async function start(ctx: RoleContext): Promise<RunningRole> {
  const { config, logger } = ctx
  const queue = createIngestQueue(ctx.redis('ingest-queue'), config)
  const batcher = new EventBatcher(queue, {
    maxEvents: config.capture.batchMaxEvents,
    maxBytes: config.capture.batchMaxBytes,
    maxWaitMs: config.capture.batchMaxWaitMs,
  })
  registerPluginMetricsCollector(ctx.registry, ctx.redis('plugin-metrics'), config.queuePrefix)
  const admin = createAdminApi({
    pool: ctx.pool(),
    redis: ctx.redis('admin'),
    queuePrefix: config.queuePrefix,
    logger,
    token: config.admin.token,
    teamTokens: config.admin.teamTokens,
  })
  const server = await startCaptureServer(config.capture, {
    teams: new TeamResolver(ctx.pool()),
    batcher,
    metrics: createCaptureMetrics(ctx.registry),
    logger,
    mounted: [admin],
  })
  logger.info({ port: server.port, host: config.capture.host, adminApi: config.admin.token !== null || config.admin.teamTokens }, 'capture listening')
  return {
    closers: [
      { name: 'capture server', close: server.close },
      { name: 'capture batcher', close: () => batcher.drain() },
      { name: 'ingest queue', close: () => queue.close() },
    ],
  }
}
