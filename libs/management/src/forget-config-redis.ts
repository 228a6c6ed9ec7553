import { withTimeout } from '@plugin-server/core'
import { cleanDeletedConfigs } from './clean-deleted-configs'
import { ManagementContext } from './interfaces'

/** A config's cursors, cache keys and queued jobs are at most its team's PLUGIN_TEAM_REDIS_LIMIT_MB: seconds, not minutes. */
const CLEANUP_TIMEOUT_MS = 10_000

/**
 * The delete is already committed when this runs, so a Redis outage must not turn it into a
 * failure: the deleted configs stay recorded (migration 0012) and the scheduler's next pass drops
 * what is left.
 */
export async function forgetConfigRedis(ctx: ManagementContext, configIds: readonly number[]): Promise<void> {
  if (configIds.length === 0) return
  try {
    const done = await withTimeout(cleanDeletedConfigs(ctx, { ids: configIds }), CLEANUP_TIMEOUT_MS)
    ctx.logger.info({ pluginConfigIds: configIds, ...done }, 'Redis state of deleted plugin configs dropped')
  } catch (err) {
    ctx.logger.warn(
      { err: (err as Error).message, pluginConfigIds: configIds },
      "Redis state of deleted plugin configs not all dropped; the scheduler's next pass drops the rest",
    )
  }
}
