import type { Queue } from 'bullmq'
import { DeliveryQueue } from '@plugin-server/export'
import type { ManagementContext } from '@plugin-server/meta'
import { createScheduledQueue, ScheduledTaskData } from '@plugin-server/scheduling'
import { HistoricalExports } from './historical-exports'

/** What routes need beyond management operations: queues of the fleet (dead-letter replays, historical runs, task chains). */
export interface AdminServices {
  /** Where replayed dead letters go to the exporters. */
  deliveries(): DeliveryQueue
  /** The timekeeper's queue, read for when each task chain runs next. */
  scheduledQueue(): Queue<ScheduledTaskData>
  /** Historical runs: enqueued for the exporters, read and cancelled here. */
  historical: HistoricalExports
  close(): Promise<void>
}

/** Queues are made on first use: most requests need neither, and a Queue is only a view of Redis keys. */
export function createAdminServices(management: ManagementContext): AdminServices {
  let deliveries: DeliveryQueue | null = null
  let scheduled: Queue<ScheduledTaskData> | null = null
  const getDeliveries = () => (deliveries ??= new DeliveryQueue(management.redis, management.queuePrefix))
  const historical = new HistoricalExports(management)
  return {
    deliveries: getDeliveries,
    scheduledQueue: () => (scheduled ??= createScheduledQueue(management.redis, management.queuePrefix)),
    historical,
    close: async () => {
      await Promise.all([historical.close(), deliveries?.close(), scheduled?.close()])
    },
  }
}
