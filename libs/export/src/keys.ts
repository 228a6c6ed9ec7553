import { QUEUES } from '@plugin-server/core'

/**
 * Redis keys of the exporter. All start with the queue prefix, whose {hash tag} puts them in one
 * Redis Cluster slot, so the Lua scripts may touch several of them at once.
 */
export const exportKeys = (prefix: string) => ({
  /** Serialized events of a config's exportEvents buffer, oldest first. */
  buffer: (configId: number) => `${prefix}:export:buffer:${configId}`,
  /** Bytes in the buffer. */
  bufferBytes: (configId: number) => `${prefix}:export:buffer-bytes:${configId}`,
  /** Configs with buffered events, scored by when their oldest buffered event arrived. */
  buffered: () => `${prefix}:export:buffered`,
  /** Events taken from the buffer whose delivery job may not exist yet; finished or taken over by the next flush. */
  flushing: (configId: number) => `${prefix}:export:flushing:${configId}`,
  flushingId: (configId: number) => `${prefix}:export:flushing-id:${configId}`,
  /** Configs with a flush in progress, scored by when it started: a stale one is finished by another exporter. */
  flushingSince: () => `${prefix}:export:flushing-since`,
  /** Marks an ingest hand-off as buffered for a config, so a redelivered hand-off is not buffered twice. */
  appended: (configId: number, handoffId: string) => `${prefix}:export:appended:${configId}:${handoffId}`,
  /** Delivery jobs not finished yet, scored by when they were enqueued (oldest pending batch). */
  pending: (configId: number) => `${prefix}:export:pending:${configId}`,
  /** Delivery jobs waiting for a retry. */
  retrying: (configId: number) => `${prefix}:export:retrying:${configId}`,
  /** Historical run progress: numbers of the pages finished (each counted once, however often it is delivered) … */
  historicalDone: (runId: number) => `${prefix}:export:historical-done:${runId}`,
  /** … and their events: hash of `exported` and `failed` (kept as a dead letter). */
  historicalCounts: (runId: number) => `${prefix}:export:historical-counts:${runId}`,
})

export type ExportKeys = ReturnType<typeof exportKeys>

/** BullMQ queue of delivery jobs (one per flushed batch, per hand-off for onEvent/onSnapshot/webhooks). */
export const DELIVERIES_QUEUE = QUEUES.exportDeliveries

/** BullMQ queue of historical runs: one job (`hr-<run>`) per run, which an exporter drives page by page. */
export const HISTORICAL_QUEUE = QUEUES.exportHistorical
