import { createIngestQueue, EventBatcher, RoleContext, RunningRole } from '@plugin-server/core'
import { createCaptureMetrics, startCaptureServer, TeamResolver } from '@plugin-server/capture-lib'

/** The HTTP intake: PostHog client requests in, ingest batches out. */
export async function start(ctx: RoleContext): Promise<RunningRole> {
  const { config, logger } = ctx
  const queue = createIngestQueue(ctx.redis('ingest-queue'), config)
  const batcher = new EventBatcher(queue, {
    maxEvents: config.capture.batchMaxEvents,
    maxBytes: config.capture.batchMaxBytes,
    maxWaitMs: config.capture.batchMaxWaitMs,
  })
  const server = await startCaptureServer(config.capture, {
    teams: new TeamResolver(ctx.pool()),
    batcher,
    metrics: createCaptureMetrics(ctx.registry),
    logger,
  })
  logger.info({ port: server.port, host: config.capture.host }, 'capture listening')
  return {
    closers: [
      { name: 'capture server', close: server.close },
      { name: 'capture batcher', close: () => batcher.drain() },
      { name: 'ingest queue', close: () => queue.close() },
    ],
  }
}
