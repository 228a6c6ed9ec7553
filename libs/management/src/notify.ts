import { publishReload, ReloadMessage, withTimeout } from '@plugin-server/core'
import { ManagementContext } from './interfaces'

const PUBLISH_TIMEOUT_MS = 2000

/**
 * The write is already committed when this runs, so a Redis outage must not turn it into a
 * failure: workers also re-read the configs periodically and pick the change up then.
 */
export async function notifyWorkers(ctx: ManagementContext, message: ReloadMessage): Promise<void> {
  try {
    await withTimeout(publishReload(ctx.redis, ctx.queuePrefix, message), PUBLISH_TIMEOUT_MS)
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message, ...message }, 'reload not published; workers pick the change up at their next reconcile')
  }
}
