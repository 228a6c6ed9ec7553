import { createAdminApi, createAdminUi, startAdminServer } from '@plugin-server/admin-api'
import { createIngestQueue, EventBatcher, RoleContext, RunningRole } from '@plugin-server/core'
import { createCaptureMetrics, startCaptureServer, TeamResolver } from '@plugin-server/capture-lib'
import { listExistingConfigIds } from '@plugin-server/db'
import { closeFleetServices, registerPluginMetricsCollector, usePluginDnsServers } from '@plugin-server/plugin-runtime'
import { SecretBox } from '@plugin-server/secrets'

/**
 * The HTTP app: PostHog client requests in, ingest batches out; the admin API under /api/ and its web
 * UI under /admin/, on the same port or on ADMIN_PORT.
 */
export async function start(ctx: RoleContext): Promise<RunningRole> {
  const { config, logger } = ctx
  // Try it's dry runs resolve plugins' names as the workers do.
  usePluginDnsServers(config.plugins.dnsServers)
  // No offline queue: while Redis is away an add fails at once (503, the client retries) instead of
  // waiting in ioredis' memory and landing after the client was told it was not stored — a second
  // copy once the retry lands too, and a heap growing with every retry for as long as Redis is down.
  const queue = createIngestQueue(ctx.newRedisConnection('ingest-queue', { enableOfflineQueue: false }), config)
  const batcher = new EventBatcher(queue, {
    maxEvents: config.capture.batchMaxEvents,
    maxBytes: config.capture.batchMaxBytes,
    maxWaitMs: config.capture.batchMaxWaitMs,
    // As much again as the bodies it reads: events stuck in a stalled Redis' connection stay bounded.
    maxUnacknowledgedBytes: config.capture.maxInFlightBytes,
  })
  registerPluginMetricsCollector(ctx.registry, ctx.newRedisConnection('plugin-metrics'), config.queuePrefix, (ids) => listExistingConfigIds(ctx.pool(), ids))
  const adminRedis = ctx.newRedisConnection('admin')
  const closedServices = await closeFleetServices(config, { metricsPort: ctx.metricsPort, logger, redis: adminRedis })
  const adminEnabled = config.admin.token !== null || config.admin.teamTokens
  const admin = createAdminApi({
    pool: ctx.pool(),
    redis: adminRedis,
    queuePrefix: config.queuePrefix,
    logger,
    secrets: new SecretBox(config.plugins.secretsKeys),
    token: config.admin.token,
    teamTokens: config.admin.teamTokens,
    // Dry runs (Try it) run plugins in this process, within the same limits and fetch policy as the workers.
    pluginSettings: { ...config.plugins, closedServices, maxEventBytes: config.capture.maxEventBytes },
    limits: config,
    attachmentMaxBytes: config.plugins.attachmentMaxBytes,
    schedulerShards: config.scheduler.shards,
  })
  // The web UI is only offered where its API answers; /api itself stays mounted to say why it is off.
  const mounted = adminEnabled ? [admin, createAdminUi()] : [admin]
  // With ADMIN_PORT they get a port of their own and the capture port answers capture only.
  const adminServer =
    config.admin.port === null ? null : await startAdminServer(config.capture.host, config.admin.port, mounted, logger, config.capture.bodyTimeoutMs)
  const server = await startCaptureServer(config.capture, {
    teams: new TeamResolver(ctx.pool()),
    batcher,
    metrics: createCaptureMetrics(ctx.registry),
    logger,
    mounted: adminServer ? [] : mounted,
  })
  logger.info({ port: server.port, host: config.capture.host, adminApi: adminEnabled, adminPort: adminServer?.port ?? server.port }, 'capture listening')
  return {
    // /readyz fails from the SIGTERM on, but requests are still served for this long: endpoints
    // take a moment to drop a terminating pod, and until then clients are still sent here.
    shutdownDelayMs: config.capture.shutdownDelayMs,
    closers: [
      // Held log long-polls answer now; otherwise closing the servers would wait up to their 30 s.
      { name: 'admin log long-polls', close: async () => admin.releaseLongPolls() },
      { name: 'capture server', close: server.close },
      ...(adminServer ? [{ name: 'admin server', close: adminServer.close }] : []),
      { name: 'capture batcher', close: () => batcher.drain() },
      // Only closes its queues: historical exports it enqueued are run by the exporters.
      { name: 'admin API', close: () => admin.close() },
      { name: 'ingest queue', close: () => queue.close() },
      { name: "fleet services' watch", close: async () => closedServices.stop() },
    ],
  }
}
