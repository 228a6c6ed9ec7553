import { redisKeys } from '@plugin-server/core'
import type { Config } from '@plugin-server/core'
import { readTeamStorageBytes } from '@plugin-server/db'
import { assertTeamExists } from './db-helpers'
import type { ManagementContext, TeamUsageView } from './interfaces'

/** The parts of the process's config whose team limits `teamUsage` reports against. */
export type TeamUsageLimits = Pick<Config, 'plugins' | 'export'>

const MiB = 1024 * 1024

/**
 * What a team's plugins hold in the stores every team shares, against their limits (the process's
 * PLUGIN_TEAM_REDIS_LIMIT_MB, PLUGIN_TEAM_STORAGE_LIMIT_MB and EXPORT_TEAM_MAX_PENDING_EVENTS): Redis
 * as the team's account counts it (libs/plugin-runtime redis-account-scripts.ts), storage as
 * plugin_storage_usage does, export deliveries as the exporters' admit script does (libs/export
 * pending-events.ts: its deliveries' events plus those buffered for exportEvents, which the limit
 * counts too). Expired keys and finished jobs the account has not seen go yet still count
 * (they go at the team's next write).
 */
export async function teamUsage(ctx: ManagementContext, teamId: number, limits: TeamUsageLimits): Promise<TeamUsageView> {
  await assertTeamExists(ctx.pool, teamId)
  const keys = redisKeys(ctx.queuePrefix)
  const account = keys.pluginRedisAccount(teamId)
  const [total, entries, storage, exports, buffered] = await Promise.all([
    ctx.redis.get(account.total),
    ctx.redis.hlen(account.sizes),
    readTeamStorageBytes(ctx.pool, teamId),
    ctx.redis.get(keys.export.teamPendingEventsTotal(teamId)),
    ctx.redis.get(keys.export.teamBufferedEvents(teamId)),
  ])
  return {
    team_id: teamId,
    redis: { bytes: Number(total ?? 0), limit_bytes: limits.plugins.teamRedisLimitMb * MiB, keys_and_jobs: entries },
    storage: { bytes: storage, limit_bytes: limits.plugins.teamStorageLimitMb * MiB },
    exports: { pending_events: Number(exports ?? 0) + Number(buffered ?? 0), limit_events: limits.export.maxTeamPendingEvents },
  }
}
