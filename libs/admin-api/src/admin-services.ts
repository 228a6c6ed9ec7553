import { loadConfig } from '@plugin-server/core'
import { DeliveryQueue } from '@plugin-server/export'
import type { ManagementContext, TeamUsageLimits } from '@plugin-server/management'
import { ScheduledQueues } from '@plugin-server/scheduling'
import { HistoricalExports } from './historical-exports'
import { LOG_TAIL_DEFAULTS, LogTail, LogTailOptions } from './log-tail'

/** What routes need beyond management operations: queues of the fleet (dead-letter replays, historical runs, task chains). */
export interface AdminServices {
  /** Where replayed dead letters go to the exporters. */
  deliveries(): DeliveryQueue
  /** The limits the usage route reports against and replays are held to (the exporters' own). */
  limits: TeamUsageLimits
  /** The timekeeper's queues, read for when each task chain runs next. */
  scheduledQueues(): ScheduledQueues
  /** Historical runs: enqueued for the exporters, read and cancelled here. */
  historical: HistoricalExports
  /** Long-polls on log rows, bounded and sharing one periodic query. */
  logTail: LogTail
  close(): Promise<void>
}

/** Queues are made on first use: most requests need neither, and a Queue is only a view of Redis keys. */
export function createAdminServices(
  management: ManagementContext,
  logTail?: Partial<LogTailOptions>,
  schedulerShards = 1,
  limits: TeamUsageLimits = loadConfig({}),
): AdminServices {
  let deliveries: DeliveryQueue | null = null
  let scheduled: ScheduledQueues | null = null
  const getDeliveries = () => (deliveries ??= new DeliveryQueue(management.redis, management.queuePrefix))
  const historical = new HistoricalExports(management)
  const tail = new LogTail(management.pool, management.logger, { ...LOG_TAIL_DEFAULTS, ...logTail })
  return {
    deliveries: getDeliveries,
    limits,
    scheduledQueues: () => (scheduled ??= new ScheduledQueues(management.redis, management.queuePrefix, schedulerShards)),
    historical,
    logTail: tail,
    close: async () => {
      tail.releaseAll()
      await Promise.all([historical.close(), deliveries?.close(), scheduled?.close()])
    },
  }
}
