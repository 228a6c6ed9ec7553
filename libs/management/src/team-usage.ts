import { redisKeys } from '@plugin-server/core'
import type { Config } from '@plugin-server/core'
import { readTeamStorageBytes } from '@plugin-server/db'
import { assertTeamExists } from './db-helpers'
import type { ManagementContext, TeamUsageView } from './interfaces'

/**
 * What a team's plugins hold in the stores every team shares, against their limits (the process's
 * PLUGIN_TEAM_REDIS_LIMIT_MB and PLUGIN_TEAM_STORAGE_LIMIT_MB): Redis as the team's account counts
 * it (libs/plugin-runtime redis-account-scripts.ts), storage as plugin_storage_usage does. Expired
 * keys and finished jobs the account has not seen go yet still count (they go at the team's next write).
 */
/** The two limits, as the process's config has them (MB). */
export type TeamUsageLimits = Pick<Config['plugins'], 'teamRedisLimitMb' | 'teamStorageLimitMb'>

const MiB = 1024 * 1024

export async function teamUsage(ctx: ManagementContext, teamId: number, limits: TeamUsageLimits): Promise<TeamUsageView> {
  await assertTeamExists(ctx.pool, teamId)
  const account = redisKeys(ctx.queuePrefix).pluginRedisAccount(teamId)
  const [total, entries, storage] = await Promise.all([ctx.redis.get(account.total), ctx.redis.hlen(account.sizes), readTeamStorageBytes(ctx.pool, teamId)])
  return {
    team_id: teamId,
    redis: { bytes: Number(total ?? 0), limit_bytes: limits.teamRedisLimitMb * MiB, keys_and_jobs: entries },
    storage: { bytes: storage, limit_bytes: limits.teamStorageLimitMb * MiB },
  }
}
