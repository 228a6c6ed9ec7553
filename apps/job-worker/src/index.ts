import type { RoleContext, RunningRole } from '@plugin-server/core'
import { startPluginRuntime } from '@plugin-server/plugin-runtime'
import { schedulingConfig, startJobWorker } from '@plugin-server/scheduling'

/** meta.jobs runNow/runAt/runIn, with RetryError backoff (libs/scheduling/README.md). */
export async function start(ctx: RoleContext): Promise<RunningRole> {
  const config = schedulingConfig(ctx.config)
  return startJobWorker(ctx, await startPluginRuntime(ctx), config)
}
