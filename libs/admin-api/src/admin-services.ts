import type { Queue } from 'bullmq'
import { DeliveryQueue, ExportSettings } from '@plugin-server/export'
import type { ManagementContext } from '@plugin-server/meta'
import { createScheduledQueue, ScheduledTaskData } from '@plugin-server/scheduling'
import { HistoricalExports } from './historical-exports'

/** What routes need beyond management operations: queues of the fleet and the exports this process drives. */
export interface AdminServices {
  /** Where replayed dead letters and historical pages go to the exporters. */
  deliveries(): DeliveryQueue
  /** The timekeeper's queue, read for when each task chain runs next. */
  scheduledQueue(): Queue<ScheduledTaskData>
  historical: HistoricalExports
  close(): Promise<void>
}

/** Queues are made on first use: most requests need neither, and a Queue is only a view of Redis keys. */
export function createAdminServices(management: ManagementContext, exportSettings: ExportSettings | undefined): AdminServices {
  let deliveries: DeliveryQueue | null = null
  let scheduled: Queue<ScheduledTaskData> | null = null
  const getDeliveries = () => (deliveries ??= new DeliveryQueue(management.redis, management.queuePrefix))
  const historical = new HistoricalExports(management, getDeliveries, exportSettings)
  return {
    deliveries: getDeliveries,
    scheduledQueue: () => (scheduled ??= createScheduledQueue(management.redis, management.queuePrefix)),
    historical,
    close: async () => {
      // Runs first: they add to the deliveries queue until they stop.
      await historical.close()
      await Promise.all([deliveries?.close(), scheduled?.close()])
    },
  }
}
