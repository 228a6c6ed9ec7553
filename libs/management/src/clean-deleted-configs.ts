import { createPluginJobsQueue, forgetExportState, forgetPluginRedisKeys, redisKeys } from '@plugin-server/core'
import {
  DeletedPluginConfigRecord,
  forgetDeletedPluginConfig,
  listDeletedPluginConfigs,
  markDeletedPluginConfigCleaned,
  teamUsesPlugin,
} from '@plugin-server/db'
import type { ManagementContext } from './interfaces'
import { globEscape, scanFields, scanKeys } from './redis-scan'

/** A team's waiting plugin jobs read per step (a job's data each, PLUGIN_TEAM_REDIS_LIMIT_MB at most together). */
const JOB_PAGE = 100
/** Deleted configs read per page of a pass. */
const CONFIG_PAGE = 100

/**
 * How long a deleted config's record is kept, each pass cleaning its keys again: a worker that had
 * not reloaded yet may still write a cursor or a cache key, or queue a job, after the first cleanup.
 */
export const DELETED_CONFIG_GRACE_MS = 3_600_000

export type CleanupDeps = Pick<ManagementContext, 'pool' | 'redis' | 'queuePrefix' | 'logger'>

export interface CleanupResult {
  /** Deleted configs looked at. */
  configs: number
  /** Cursor and cache keys dropped (a key the account still held after it expired counts too). */
  keys: number
  /** Plugin jobs not started yet removed. */
  jobs: number
  /** What the teams' Redis accounts got back. */
  bytes: number
}

/**
 * Drops what deleted configs (recorded by migration 0012's trigger, however they were deleted) left
 * in Redis, giving it back through their teams' accounts (PLUGIN_TEAM_REDIS_LIMIT_MB): the export
 * buffer and pending counts, the cursors, the plugin jobs not started yet, and — when the team has
 * no config of the plugin any more (at most one: plugin_configs_team_plugin) — the plugin's cache
 * keys of the team. In bounded steps (SCAN, never KEYS), and idempotent: an interrupted run is
 * finished by the next one. `config delete` and `plugin delete` clean their configs (`ids`); the
 * scheduler's pass (every few minutes) cleans only the records due: those no cleanup finished yet,
 * and, once more, those deleted `graceMs` ago, then forgotten — each SCAN reads the whole keyspace,
 * so a deleted config is not scanned for again at every pass of its grace.
 */
export async function cleanDeletedConfigs(deps: CleanupDeps, options: { ids?: readonly number[]; graceMs?: number } = {}): Promise<CleanupResult> {
  const total: CleanupResult = { configs: 0, keys: 0, jobs: 0, bytes: 0 }
  const graceMs = options.graceMs ?? DELETED_CONFIG_GRACE_MS
  let afterId = 0
  for (;;) {
    const page = await listDeletedPluginConfigs(deps.pool, { afterId, limit: CONFIG_PAGE, ids: options.ids ?? null, graceMs })
    if (page.length === 0) return total
    for (const record of page) {
      const done = await cleanConfig(deps, record)
      total.configs++
      total.keys += done.keys
      total.jobs += done.jobs
      total.bytes += done.bytes
      if (Date.now() - record.deleted_at.getTime() >= graceMs) await forgetDeletedPluginConfig(deps.pool, record.plugin_config_id)
      else await markDeletedPluginConfigCleaned(deps.pool, record.plugin_config_id)
    }
    afterId = page[page.length - 1].plugin_config_id
  }
}

async function cleanConfig(deps: CleanupDeps, record: DeletedPluginConfigRecord): Promise<Omit<CleanupResult, 'configs'>> {
  const { redis, queuePrefix } = deps
  const { plugin_config_id: configId, team_id: teamId, plugin_id: pluginId } = record
  await forgetExportState(redis, queuePrefix, configId, teamId)
  const keys = redisKeys(queuePrefix)
  const patterns = [`${globEscape(keys.cursor(configId, ''))}*`]
  if (!(await teamUsesPlugin(deps.pool, teamId, pluginId))) patterns.push(`${globEscape(keys.cache(pluginId, teamId, ''))}*`)
  const done = { keys: 0, jobs: 0, bytes: 0 }
  const { sizes } = keys.pluginRedisAccount(teamId)
  for (const pattern of patterns) {
    // The keyspace finds keys the account never held; the account, keys it still counts after they expired.
    for (const steps of [scanKeys(redis, pattern), scanFields(redis, sizes, pattern)]) {
      for await (const found of steps) {
        done.keys += found.length
        done.bytes += await forgetPluginRedisKeys(redis, queuePrefix, teamId, found, true)
      }
    }
  }
  const removed = await removeNotStartedJobs(deps, configId, teamId)
  done.jobs = removed.jobs
  done.bytes += removed.bytes
  return done
}

/**
 * The team's jobs not started yet are those in its line (libs/core plugin-job-line.ts), so only the
 * team's own jobs are read, not every team's queued ones; BullMQ removes each of the config's, its
 * account then gives back what it reserved, and the line forgets it. A job waiting out a RetryError's
 * backoff has left the line: it runs once more and finds its config gone.
 */
async function removeNotStartedJobs(deps: CleanupDeps, configId: number, teamId: number): Promise<{ jobs: number; bytes: number }> {
  const { redis, queuePrefix } = deps
  const line = redisKeys(queuePrefix).pluginJobsWaiting(teamId)
  const queue = createPluginJobsQueue(redis, { queuePrefix })
  const done = { jobs: 0, bytes: 0 }
  try {
    let cursor = '0'
    do {
      const [next, flat] = await redis.zscan(line, cursor, 'COUNT', JOB_PAGE)
      cursor = next
      const ids = flat.filter((_, i) => i % 2 === 0)
      const data = ids.length === 0 ? [] : await redis.pipeline(ids.map((id) => ['hget', queue.toKey(id), 'data'])).exec()
      const gone: string[] = []
      for (const [i, id] of ids.entries()) {
        if (configOf(data?.[i]?.[1]) !== configId) continue
        // Refused when a job-worker took it meanwhile (locked): it runs and finds its config gone.
        if ((await queue.remove(id)) === 1) gone.push(id)
      }
      if (gone.length > 0) {
        done.bytes += await forgetPluginRedisKeys(
          redis,
          queuePrefix,
          teamId,
          gone.map((id) => queue.toKey(id)),
          false,
        )
        await redis.zrem(line, ...gone)
        done.jobs += gone.length
      }
    } while (cursor !== '0')
  } finally {
    await queue.close()
  }
  return done
}

/** The config a job's data names; null for a job gone meanwhile or data that is not a plugin job's. */
function configOf(data: unknown): number | null {
  if (typeof data !== 'string') return null
  try {
    const parsed = JSON.parse(data) as { pluginConfigId?: unknown }
    return typeof parsed.pluginConfigId === 'number' ? parsed.pluginConfigId : null
  } catch {
    return null
  }
}
