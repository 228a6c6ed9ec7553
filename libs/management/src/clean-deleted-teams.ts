import { bullmqKeys, FAILED_INGEST_JOB_KEPT_SECONDS, forgetPluginRedisKeys, forgetTeamRedisState, QUEUES, redisKeys } from '@plugin-server/core'
import {
  databaseNow,
  DeletedTeamRecord,
  deleteTeamEvents,
  deleteTeamLogs,
  forgetDeletedTeam,
  listDeletedTeams,
  listTeamDeletedPluginConfigIds,
  markDeletedTeamCleaned,
} from '@plugin-server/db'
import { cleanDeletedConfigs, CleanupDeps } from './clean-deleted-configs'
import { globEscape, scanFields, scanKeys } from './redis-scan'

/** Deleted teams read per page of a pass. */
const TEAM_PAGE = 100

/**
 * How long a deleted team's record is kept, its events cleaned again when it is over: capture
 * accepts the team's token until its TeamResolver's answer is refreshed (about 10 s), and events
 * acknowledged before the delete may still be queued, retried, or kept as a failed ingest job (7
 * days: FAILED_INGEST_JOB_KEPT_SECONDS) and then retried. Longer than that, so whatever of the team's reaches Postgres
 * later is gone at the last clean; an hour left an ingest backlog's events stored for good.
 */
export const DELETED_TEAM_GRACE_MS = FAILED_INGEST_JOB_KEPT_SECONDS * 1000 + 24 * 3_600_000

export interface TeamCleanupResult {
  /** Deleted teams looked at. */
  teams: number
  events: number
  log_rows: number
  /** Cache keys and cursors dropped, accounted job keys forgotten, queued plugin jobs removed. */
  redis_keys: number
  /** What the fleet's Redis total (PLUGIN_REDIS_LIMIT_MB) got back from the teams' accounts, their configs' state included. */
  redis_bytes: number
}

/**
 * Drops what deleted teams (recorded by migration 0014's trigger, however they were deleted) left
 * behind their row: their events and plugin log rows (no foreign key), in bounded statements, and
 * their Redis state — their deleted configs' first (cleanDeletedConfigs: cursors, cache keys,
 * queued jobs, export buffers and counts, for those migration 0012 recorded and no cleanup finished),
 * then cache keys of any plugin, what their account still holds (the fleet's total drops by exactly
 * that), their export counts and their line of waiting jobs. Postgres first: a Redis outage leaves
 * the rows deleted and the record for the next pass, and a worker still running a config of the
 * team has longer to get the reload before its keys are scanned for. Idempotent: an
 * interrupted run is finished by the next one. `team delete` cleans its team (`ids`); the
 * scheduler's pass cleans the records due: those no cleanup finished yet and, once more, those
 * deleted `graceMs` ago, then forgotten.
 */
export async function cleanDeletedTeams(deps: CleanupDeps, options: { ids?: readonly number[]; graceMs?: number } = {}): Promise<TeamCleanupResult> {
  const total: TeamCleanupResult = { teams: 0, events: 0, log_rows: 0, redis_keys: 0, redis_bytes: 0 }
  const graceMs = options.graceMs ?? DELETED_TEAM_GRACE_MS
  // The database's clock, which stamped deleted_at: a pod whose clock ran ahead forgot a record before its second cleanup.
  const now = (await databaseNow(deps.pool)).getTime()
  let afterId = 0
  for (;;) {
    const page = await listDeletedTeams(deps.pool, { afterId, limit: TEAM_PAGE, ids: options.ids ?? null, graceMs })
    if (page.length === 0) return total
    for (const record of page) {
      const done = await cleanTeam(deps, record)
      total.teams++
      total.events += done.events
      total.log_rows += done.log_rows
      total.redis_keys += done.redis_keys
      total.redis_bytes += done.redis_bytes
      if (now - record.deleted_at.getTime() >= graceMs) await forgetDeletedTeam(deps.pool, record.team_id)
      else await markDeletedTeamCleaned(deps.pool, record.team_id)
    }
    afterId = page[page.length - 1].team_id
  }
}

async function cleanTeam(deps: CleanupDeps, record: DeletedTeamRecord): Promise<Omit<TeamCleanupResult, 'teams'>> {
  const teamId = record.team_id
  const events = await deleteTeamEvents(deps.pool, teamId, undefined, (n) => deps.logger.debug({ teamId, events: n }, 'deleted team: events deleted'))
  const logRows = await deleteTeamLogs(deps.pool, teamId)
  const configIds = await listTeamDeletedPluginConfigIds(deps.pool, teamId)
  const configs = configIds.length === 0 ? { keys: 0, jobs: 0, bytes: 0 } : await cleanDeletedConfigs(deps, { ids: configIds })
  const redis = await forgetTeamRedis(deps, teamId, await listTeamDeletedPluginConfigIds(deps.pool, teamId, false))
  const keys = configs.keys + configs.jobs + redis.keys
  if (events + logRows + keys > 0)
    deps.logger.info({ teamId, events, logRows, pluginConfigIds: configIds, keys }, "deleted team's events, log rows and Redis state dropped")
  return { events, log_rows: logRows, redis_keys: keys, redis_bytes: configs.bytes + redis.bytes }
}

/** `configIds`: every deleted config of the team still recorded, whose buffers go with the team's counts. */
async function forgetTeamRedis(deps: CleanupDeps, teamId: number, configIds: readonly number[]): Promise<{ keys: number; bytes: number }> {
  const { redis, queuePrefix } = deps
  const keys = redisKeys(queuePrefix)
  const done = { keys: 0, bytes: 0 }
  // Every plugin's cache keys of the team, those its account never held too: `cache:<plugin>:<team>:<key>`.
  const cacheHead = keys.cacheHead()
  for await (const found of scanKeys(redis, `${globEscape(cacheHead)}*:${teamId}:*`)) {
    // The glob also matches another team's key with `:<team>:` in it: only keys redisKeys.cache names for the team.
    const ours = found.filter((key) => key.startsWith(keys.cache(Number(key.slice(cacheHead.length).split(':')[0]), teamId, '')))
    done.keys += ours.length
    done.bytes += await forgetPluginRedisKeys(redis, queuePrefix, teamId, ours, true)
  }
  // What the account still holds: cursors of configs not cleaned yet, keys expired but counted, jobs.
  const jobHead = bullmqKeys(queuePrefix, QUEUES.jobs).job('')
  for await (const fields of scanFields(redis, keys.pluginRedisAccount(teamId).sizes, '*')) {
    // A job key is BullMQ's to delete: a job of the team still queued runs and finds its config gone.
    const jobs = fields.filter((key) => key.startsWith(jobHead))
    const other = fields.filter((key) => !key.startsWith(jobHead))
    done.keys += fields.length
    done.bytes += await forgetPluginRedisKeys(redis, queuePrefix, teamId, other, true)
    done.bytes += await forgetPluginRedisKeys(redis, queuePrefix, teamId, jobs, false)
  }
  done.bytes += await forgetTeamRedisState(redis, queuePrefix, teamId, configIds)
  return done
}
