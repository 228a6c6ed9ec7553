import { QUEUES, redisKeys } from '@plugin-server/core'

/** The exporter's Redis keys; built, with every other key of the fleet, in core's redis-keys.ts. */
export const exportKeys = (prefix: string) => redisKeys(prefix).export

export type ExportKeys = ReturnType<typeof exportKeys>

/** BullMQ queue of delivery jobs (one per flushed batch, per hand-off for onEvent/onSnapshot/webhooks). */
export const DELIVERIES_QUEUE = QUEUES.exportDeliveries

/** BullMQ queue of historical runs: one job (`hr-<run>`) per run, which an exporter drives page by page. */
export const HISTORICAL_QUEUE = QUEUES.exportHistorical
