import { createPluginJobsQueue, forgetExportState, forgetPluginRedisKeys, redisKeys } from '@plugin-server/core'
import { DeletedPluginConfigRecord, forgetDeletedPluginConfig, listDeletedPluginConfigs, teamUsesPlugin } from '@plugin-server/db'
import type Redis from 'ioredis'
import type { ManagementContext } from './interfaces'

/** Keys per SCAN step and per credit script: each holds Redis well under a millisecond. */
const SCAN_COUNT = 500
/** Plugin jobs read per page (up to a job's data each, PLUGIN_TEAM_REDIS_LIMIT_MB at most). */
const JOB_PAGE = 100
/** Deleted configs read per page of a pass. */
const CONFIG_PAGE = 100
/** The states of a plugin job not started yet; an active one finishes, and finds its config gone. */
const NOT_STARTED = ['delayed', 'waiting', 'prioritized'] as const

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
 * finished by the next one, which `config delete`, `plugin delete` and the scheduler's pass (every
 * few minutes) each make. A record goes once a run cleaned it `graceMs` after its delete.
 */
export async function cleanDeletedConfigs(deps: CleanupDeps, options: { ids?: readonly number[]; graceMs?: number } = {}): Promise<CleanupResult> {
  const total: CleanupResult = { configs: 0, keys: 0, jobs: 0, bytes: 0 }
  const graceMs = options.graceMs ?? DELETED_CONFIG_GRACE_MS
  let afterId = 0
  for (;;) {
    const page = await listDeletedPluginConfigs(deps.pool, { afterId, limit: CONFIG_PAGE, ids: options.ids ?? null })
    if (page.length === 0) return total
    for (const record of page) {
      const done = await cleanConfig(deps, record)
      total.configs++
      total.keys += done.keys
      total.jobs += done.jobs
      total.bytes += done.bytes
      if (Date.now() - record.deleted_at.getTime() >= graceMs) await forgetDeletedPluginConfig(deps.pool, record.plugin_config_id)
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

/** BullMQ removes each job; its account then gives back what it reserved, and the team's line of waiting jobs forgets it. */
async function removeNotStartedJobs(deps: CleanupDeps, configId: number, teamId: number): Promise<{ jobs: number; bytes: number }> {
  const { redis, queuePrefix } = deps
  const queue = createPluginJobsQueue(redis, { queuePrefix })
  const done = { jobs: 0, bytes: 0 }
  try {
    for (const state of NOT_STARTED) {
      let start = 0
      for (;;) {
        const page = (await queue.getJobs([state], start, start + JOB_PAGE - 1, true)).filter((job) => job !== undefined)
        if (page.length === 0) break
        const gone: string[] = []
        for (const job of page) {
          if (job.data?.pluginConfigId !== configId || job.id === undefined) continue
          // Refused when a job-worker took it meanwhile (locked): it runs and finds its config gone.
          if ((await queue.remove(job.id)) === 1) gone.push(job.id)
        }
        if (gone.length > 0) {
          done.bytes += await forgetPluginRedisKeys(
            redis,
            queuePrefix,
            teamId,
            gone.map((id) => queue.toKey(id)),
            false,
          )
          await redis.zrem(redisKeys(queuePrefix).pluginJobsWaiting(teamId), ...gone)
          done.jobs += gone.length
        }
        // The removed ones no longer take places in the state's order.
        start += page.length - gone.length
      }
    }
  } finally {
    await queue.close()
  }
  return done
}

async function* scanKeys(redis: Redis, pattern: string): AsyncGenerator<string[]> {
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)
    cursor = next
    if (found.length > 0) yield found
  } while (cursor !== '0')
}

async function* scanFields(redis: Redis, hash: string, pattern: string): AsyncGenerator<string[]> {
  let cursor = '0'
  do {
    const [next, flat] = await redis.hscan(hash, cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)
    cursor = next
    const fields = flat.filter((_, i) => i % 2 === 0)
    if (fields.length > 0) yield fields
  } while (cursor !== '0')
}

/** A queue prefix is the operator's: its glob characters must match themselves. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
