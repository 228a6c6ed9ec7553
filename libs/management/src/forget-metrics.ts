import { forgetPluginMetrics, withTimeout } from '@plugin-server/core'
import { ManagementContext } from './interfaces'

const FORGET_TIMEOUT_MS = 2000

/**
 * The delete is already committed when this runs, so a Redis outage must not turn it into a
 * failure: the plugin metrics collector drops what is left of a deleted config at its next scrape.
 */
export async function forgetConfigMetrics(ctx: ManagementContext, configIds: readonly number[]): Promise<void> {
  try {
    await withTimeout(forgetPluginMetrics(ctx.redis, ctx.queuePrefix, configIds), FORGET_TIMEOUT_MS)
  } catch (err) {
    ctx.logger.warn(
      { err: (err as Error).message, pluginConfigIds: configIds },
      'plugin metrics of deleted configs not dropped; the metrics collector drops them',
    )
  }
}
