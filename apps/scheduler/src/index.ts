import type { RoleContext, RunningRole } from '@plugin-server/core'
import { startPluginRuntime } from '@plugin-server/plugin-runtime'
import { scheduledEvictionRank, schedulingConfig, startScheduler } from '@plugin-server/scheduling'

/** runEvery* tasks of every enabled config: phase-locked to UTC periods, single flight across replicas (libs/scheduling/README.md). */
export async function start(ctx: RoleContext): Promise<RunningRole> {
  const config = schedulingConfig(ctx.config)
  // Over PLUGIN_MAX_LIVE_INSTANCES, which configs to evict follows their due times, not recency.
  const runtime = await startPluginRuntime(ctx, undefined, { evictionRank: scheduledEvictionRank(ctx.config.timeScale) })
  return startScheduler(ctx, runtime, config)
}
