import { createPluginJobsQueue, forgetExportState, forgetPluginRedisKeys, jobsData, redisKeys, SCHEDULER_TASKS, schedulerChainId } from '@plugin-server/core'
import {
  databaseNow,
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
  // The database's clock, which stamped deleted_at: a pod whose clock ran ahead forgot a record before its second cleanup.
  const now = (await databaseNow(deps.pool)).getTime()
  let afterId = 0
  for (;;) {
    const page = await listDeletedPluginConfigs(deps.pool, { afterId, limit: CONFIG_PAGE, ids: options.ids ?? null, graceMs })
    if (page.length === 0) return total
    const done = await cleanConfigs(deps, page)
    total.configs += page.length
    total.keys += done.keys
    total.jobs += done.jobs
    total.bytes += done.bytes
    for (const record of page) {
      if (now - record.deleted_at.getTime() >= graceMs) await forgetDeletedPluginConfig(deps.pool, record.plugin_config_id)
      else await markDeletedPluginConfigCleaned(deps.pool, record.plugin_config_id)
    }
    afterId = page[page.length - 1].plugin_config_id
  }
}

/** A key head of a deleted config's (its cursors, or its plugin's cache keys of its team) and whose account holds what is under it. */
interface Head {
  head: string
  teamId: number
}

/**
 * A page of deleted configs at once: a SCAN reads the whole keyspace whatever it matches, so the
 * page's key heads are looked for in one SCAN (under the heads' common start), and each team's
 * account and line of waiting jobs are read once, not once per config (a team's delete is all its
 * configs).
 */
async function cleanConfigs(deps: CleanupDeps, records: readonly DeletedPluginConfigRecord[]): Promise<Omit<CleanupResult, 'configs'>> {
  const { redis, queuePrefix } = deps
  const keys = redisKeys(queuePrefix)
  const heads: Head[] = []
  for (const { plugin_config_id: configId, team_id: teamId, plugin_id: pluginId } of records) {
    await forgetExportState(redis, queuePrefix, configId, teamId)
    // Kept while the config was only disabled (libs/scheduling Timekeeper), so that enabling it again resumed its schedule.
    await redis.hdel(keys.scheduler.lastFinish(), ...SCHEDULER_TASKS.map((task) => schedulerChainId(configId, task)))
    heads.push({ head: keys.cursor(configId, ''), teamId })
    if (!(await teamUsesPlugin(deps.pool, teamId, pluginId))) heads.push({ head: keys.cache(pluginId, teamId, ''), teamId })
  }
  const done = { keys: 0, jobs: 0, bytes: 0 }
  const forget = async (found: string[], among: readonly Head[]): Promise<void> => {
    for (const [teamId, owned] of ownedByTeam(found, among)) {
      done.keys += owned.length
      done.bytes += await forgetPluginRedisKeys(redis, queuePrefix, teamId, owned, true)
    }
  }
  // The keyspace finds keys the accounts never held; each account, keys it still counts after they expired.
  for await (const found of scanKeys(redis, `${globEscape(commonStart(heads.map((h) => h.head)))}*`)) await forget(found, heads)
  for (const [teamId, configIds] of byTeam(records)) {
    const own = heads.filter((h) => h.teamId === teamId)
    for await (const found of scanFields(redis, keys.pluginRedisAccount(teamId).sizes, `${globEscape(commonStart(own.map((h) => h.head)))}*`))
      await forget(found, own)
    const removed = await removeNotStartedJobs(deps, new Set(configIds), teamId)
    done.jobs += removed.jobs
    done.bytes += removed.bytes
  }
  return done
}

/** The found keys under one of the heads, by the team whose account holds them. */
function ownedByTeam(found: readonly string[], heads: readonly Head[]): Map<number, string[]> {
  const owned = new Map<number, string[]>()
  for (const key of found) {
    const owner = heads.find((h) => key.startsWith(h.head))
    if (!owner) continue
    const keys = owned.get(owner.teamId)
    if (keys) keys.push(key)
    else owned.set(owner.teamId, [key])
  }
  return owned
}

function byTeam(records: readonly DeletedPluginConfigRecord[]): Map<number, number[]> {
  const teams = new Map<number, number[]>()
  for (const r of records) {
    const ids = teams.get(r.team_id)
    if (ids) ids.push(r.plugin_config_id)
    else teams.set(r.team_id, [r.plugin_config_id])
  }
  return teams
}

/** The longest start the texts share (the glob every one of them begins). */
function commonStart(texts: readonly string[]): string {
  let start = texts[0] ?? ''
  for (const text of texts) while (!text.startsWith(start)) start = start.slice(0, -1)
  return start
}

/**
 * The team's jobs not started yet are those in its line (libs/core plugin-job-line.ts), so only the
 * team's own jobs are read, not every team's queued ones; BullMQ removes each of the configs', its
 * account then gives back what it reserved, and the line forgets it. A job waiting out a RetryError's
 * backoff has left the line: it runs once more and finds its config gone.
 */
async function removeNotStartedJobs(deps: CleanupDeps, configIds: ReadonlySet<number>, teamId: number): Promise<{ jobs: number; bytes: number }> {
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
      const data = await jobsData(redis, queue, ids)
      const gone: string[] = []
      for (const [i, id] of ids.entries()) {
        const configId = configOf(data[i])
        if (configId === null || !configIds.has(configId)) continue
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
function configOf(data: string | null): number | null {
  if (data === null) return null
  try {
    const parsed = JSON.parse(data) as { pluginConfigId?: unknown }
    return typeof parsed.pluginConfigId === 'number' ? parsed.pluginConfigId : null
  } catch {
    return null
  }
}
