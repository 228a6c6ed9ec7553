import type { RoleContext, RunningRole } from '@plugin-server/core'
import { startPluginRuntime } from '@plugin-server/plugin-runtime'
import { schedulingConfig, startScheduler } from '@plugin-server/scheduling'

/** runEvery* tasks of every enabled config: phase-locked to UTC periods, single flight across replicas (libs/scheduling/README.md). */
export async function start(ctx: RoleContext): Promise<RunningRole> {
  const config = schedulingConfig(ctx.config)
  return startScheduler(ctx, await startPluginRuntime(ctx), config)
}
