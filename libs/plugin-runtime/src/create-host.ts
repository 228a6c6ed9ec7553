import { randomUUID } from 'node:crypto'
import { addPluginJob } from '@plugin-server/core'
import { fetchGuard } from '@plugin-server/plugin-vm'
import type { LogLevel, PluginAttachment, PluginHost } from '@plugin-server/plugin-vm'
import type { RuntimeServices } from './interfaces'
import { JobHistory } from './job-history'
import { PluginConfigRecord, secretValues } from './load-configs'
import { LogTarget, LogType } from './log-writer'
import { updateMetric } from './metrics-store'
import { MetricUpdates } from './metric-updates'
import { PostgresPluginStorage } from './postgres-storage'
import { callPosthogApi } from './posthog-api'
import { RedisPluginCache } from './redis-cache'
import { RedisPluginCursor } from './redis-cursor'
import { storeFailure } from './store-failure'
import { TeamRedisAccount } from './team-redis-account'
import { teamRedisRefusals } from './team-redis-metrics'

const LOG_TYPES: Record<LogLevel, LogType> = { log: 'LOG', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG' }

/**
 * Depth of the captures in flight on one instance. Calls overlap (bounded concurrency), so a
 * capture cannot tell which event caused it; it takes the deepest call in flight, which can only
 * over-count, so the loop guard still holds.
 */
export class CaptureDepth {
  private readonly active: number[] = []

  async during<T>(depth: number, fn: () => Promise<T>): Promise<T> {
    this.active.push(depth)
    try {
      return await fn()
    } finally {
      this.active.splice(this.active.indexOf(depth), 1)
    }
  }

  next(): number {
    return 1 + Math.max(0, ...this.active)
  }
}

export function logTarget(record: PluginConfigRecord): LogTarget {
  return { teamId: record.teamId, pluginId: record.pluginId, pluginConfigId: record.id, pluginName: record.pluginName, secrets: secretValues(record) }
}

/** The real capabilities behind one config's `meta`, `console` and `posthog`. */
export function createHost(
  record: PluginConfigRecord,
  attachments: Record<string, PluginAttachment>,
  depth: CaptureDepth,
  services: RuntimeServices,
): PluginHost {
  const { redis, queuePrefix, logs, capturer } = services
  const target = logTarget(record)
  const metrics = new MetricUpdates(
    (name, operation, value) => updateMetric(redis, queuePrefix, record.id, name, operation, value),
    (name, err) => logs.write(target, 'SYSTEM', 'WARN', `metric ${name} was not updated: ${err.message}`),
  )
  const jobHistory = new JobHistory(redis, queuePrefix, (err) =>
    services.logger.warn({ plugin_config_id: record.id, err: err.message }, 'plugin job not recorded in the job history'),
  )
  const refusals = services.registry && teamRedisRefusals(services.registry)
  const account = new TeamRedisAccount(redis, queuePrefix, record.teamId, services.plugins.teamRedisLimitMb * 1024 * 1024, {
    fleetLimitBytes: services.plugins.redisLimitMb * 1024 * 1024,
    refused: (kind) => refusals?.inc({ team_id: String(record.teamId), kind }),
  })
  return {
    config: record.config,
    attachments,
    cache: new RedisPluginCache(redis, queuePrefix, record.pluginId, account, services.plugins.cacheMaxValueBytes),
    storage: new PostgresPluginStorage(services.pool, record.id, record.teamId, services.plugins.teamStorageLimitMb * 1024 * 1024),
    cursor: new RedisPluginCursor(redis, queuePrefix, record.id, account),
    enqueueJob: async (job) => {
      const delay = Math.max(0, job.runAt.getTime() - Date.now())
      const data = { teamId: record.teamId, pluginConfigId: record.id, name: job.name, payload: job.payload ?? null, enqueuedAt: new Date().toISOString() }
      // The job's bytes are held in the team's account before BullMQ stores it, under an id of our own.
      const jobId = randomUUID()
      const jobKey = services.jobs.toKey(jobId)
      // Not given back if the add fails: it may have stored the job all the same (a timeout); the
      // account's recheck gives back a reservation whose job never appears.
      await account.reserveJob(jobKey, data, `jobs.${job.name}`)
      // Ranked behind the team's own jobs not started yet, not behind every team's.
      await addPluginJob(services.jobs, redis, queuePrefix, data, { delay, jobId })
      await jobHistory.queued({ ...data, jobId, secrets: target.secrets })
    },
    updateMetric: (name, operation, value) => metrics.add(name, operation, value),
    geoipLocate: (ip) => services.geoip.locateJson(ip, record.teamId),
    storeFailure,
    log: (entry) => logs.write(target, 'CONSOLE', LOG_TYPES[entry.level] ?? 'LOG', entry.message),
    capture: ({ event, properties }) => {
      const dropped = capturer.capture({ teamId: record.teamId, pluginName: record.pluginName, pluginConfigId: record.id }, event, properties, depth.next())
      if (dropped?.report) logs.write(target, 'SYSTEM', 'WARN', `posthog.capture(${JSON.stringify(event.slice(0, 200))}) dropped: ${dropped.reason}`)
    },
    api: (request, reading) =>
      callPosthogApi(
        request,
        {
          host: services.plugins.posthogApiHost,
          personalApiKey: services.plugins.posthogPersonalApiKey,
          projectApiKey: record.teamApiToken,
          guard: fetchGuard(services.plugins.fetchAllowedHosts, undefined, services.closedServices),
        },
        reading,
      ),
  }
}
