import { randomBytes } from 'node:crypto'
import os from 'node:os'
import { Closer, createIngestQueue, createPluginJobsQueue, EventBatcher, IngestEvent, ReadinessCheck, RoleContext, subscribeReload } from '@plugin-server/core'
import { IsolatedVmPluginVm, PluginVm, prepareSandboxRuntime, usePluginDnsServers } from '@plugin-server/plugin-vm'
import { breakerDisabledCounter } from './breaker-metrics'
import { closeFleetServices } from './fleet-services'
import { GeoIpLocator } from './geoip-locator'
import { registerLiveIsolatesGauge } from './isolate-metrics'
import type { ConfigEvictionRank, RuntimeServices } from './interfaces'
import { PluginLogWriter } from './log-writer'
import { CaptureTarget, PluginCapturer } from './plugin-capture'
import { CountedWarning } from './counted-warning'
import { PluginManager } from './plugin-manager'

export interface PluginRuntime {
  manager: PluginManager
  services: RuntimeServices
  /** To run after the role stopped taking work: tear plugins down, then flush what they produced. */
  closers: Closer[]
  checks: ReadinessCheck[]
}

export interface PluginRuntimeOptions {
  /**
   * Build the sandbox runtime (and its startup snapshot) before returning, instead of on the first
   * load: for roles whose first load holds up traffic. Roles that may load nothing leave it off.
   */
  prepare?: boolean
  /** Which configs to evict first at PLUGIN_MAX_LIVE_INSTANCES, for a role that knows better than recency (the scheduler). */
  evictionRank?: ConfigEvictionRank
}

/** Everything a role needs to run plugins: the manager, kept current by pub/sub and a periodic reconcile. */
export async function startPluginRuntime(
  ctx: RoleContext,
  vm: PluginVm = new IsolatedVmPluginVm(),
  options: PluginRuntimeOptions = {},
): Promise<PluginRuntime> {
  const { config, logger } = ctx
  usePluginDnsServers(config.plugins.dnsServers)
  if (options.prepare) prepareSandboxRuntime(config.plugins.runtimeSnapshot)
  // Plugins issue many small commands at once (a batch of events each awaiting the cache): pipeline them.
  const redis = ctx.newRedisConnection('plugins', { enableAutoPipelining: true })
  const closedServices = await closeFleetServices(config, { metricsPort: ctx.metricsPort, logger, redis })
  const ingestQueue = createIngestQueue(ctx.newRedisConnection('plugin-capture'), config)
  // Not on `redis`: a BullMQ queue defines its ~60 Lua scripts on its connection, and ioredis copies
  // every defined script onto each pipeline it makes (25 instead of 1.6 µs), one per autopipelined
  // flush of plugins' cache calls and one per batch's processing metrics.
  const jobs = createPluginJobsQueue(ctx.newRedisConnection('plugin-jobs'), config)
  const logs = new PluginLogWriter(ctx.pool(), logger, `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`, {
    flushIntervalMs: 500,
    maxBuffered: 10_000,
    linesPerMinute: config.plugins.logLinesPerMinute,
    charsPerMinute: config.plugins.logCharsPerMinute,
  })
  // One line a minute with the count since the last, naming the latest: a stalled Redis refuses every capture at once.
  const captureFailures = new CountedWarning<{ target: CaptureTarget; event: IngestEvent; err: Error }>(60_000, (count, first, { target, event, err }) =>
    logger.error(
      { team_id: target.teamId, plugin_config_id: target.pluginConfigId, event: event.event, uuid: event.uuid, err: err.message, failed: count },
      first ? 'event captured by a plugin could not be enqueued' : `${count} events captured by plugins could not be enqueued since the last line`,
    ),
  )
  const capturer = new PluginCapturer(
    new EventBatcher(ingestQueue, {
      maxEvents: config.capture.batchMaxEvents,
      maxBytes: config.capture.batchMaxBytes,
      maxWaitMs: config.capture.batchMaxWaitMs,
      // As capture's: a stalled Redis holds what it has not acknowledged in this process, and no more.
      maxUnacknowledgedBytes: config.capture.maxInFlightBytes,
    }),
    { maxDepth: config.plugins.captureMaxDepth, maxEventBytes: config.capture.maxEventBytes, teamBytesPerMinute: config.plugins.teamCaptureBytesPerMinute },
    (target, event, err) => captureFailures.add(1, { target, event, err }),
  )
  const services: RuntimeServices = {
    pool: ctx.pool(),
    redis,
    queuePrefix: config.queuePrefix,
    logger,
    logs,
    capturer,
    jobs,
    geoip: new GeoIpLocator(config.plugins.geoipDatabasePath),
    plugins: config.plugins,
    closedServices,
    timeScale: config.timeScale,
    registry: ctx.registry,
  }
  // Exported from start-up, so the alert on configs disabled by the server sees the first one.
  breakerDisabledCounter(ctx.registry)
  registerLiveIsolatesGauge(ctx.registry)
  const manager = new PluginManager(services, vm, options.evictionRank)
  await manager.start()
  await subscribeReload(ctx.newRedisConnection('plugin-reload'), config.queuePrefix, (message) => {
    logger.debug({ message }, 'plugin reload requested')
    manager.reload(message).catch((err: Error) => logger.warn({ err: err.message }, 'plugin reload failed'))
  })
  return {
    manager,
    services,
    closers: [
      { name: 'plugins', close: () => manager.close() },
      { name: 'plugin captures', close: () => capturer.drain().finally(() => captureFailures.flush()) },
      { name: 'plugin logs', close: () => logs.close() },
      { name: 'plugin queues', close: async () => void (await Promise.all([ingestQueue.close(), jobs.close()])) },
      { name: "fleet services' watch", close: async () => closedServices.stop() },
    ],
    checks: [
      {
        // A failing plugin is no reason to stop taking traffic; not being able to read the configs is.
        name: 'plugin configs',
        check: async () => {
          if (manager.lastRefreshError) throw new Error(`plugin configs could not be read: ${manager.lastRefreshError}`)
        },
      },
    ],
  }
}
