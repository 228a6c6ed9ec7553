import type { ChainableCommander } from 'ioredis'
import type { ExportCounts } from './interfaces'
import { redisKeys } from '@plugin-server/core'

/** One bucket per minute; a day of them is kept, plus an hour so the oldest minute shown is complete. */
export const EXPORT_SERIES_BUCKET_MS = 60_000
export const EXPORT_SERIES_TTL_SECONDS = 25 * 3600

/** HASH metric name → count, for what happened to a config's exports in one minute (epoch minutes). */
export function exportSeriesKey(queuePrefix: string, configId: number, epochMinute: number): string {
  return redisKeys(queuePrefix).exportSeries(configId, epochMinute)
}

/** Adds the counts to the current minute's bucket, on the caller's pipeline (same round trip as the totals). */
export function addToExportSeries(pipeline: ChainableCommander, queuePrefix: string, configId: number, counts: Partial<ExportCounts>, now = Date.now()): void {
  const key = exportSeriesKey(queuePrefix, configId, Math.floor(now / EXPORT_SERIES_BUCKET_MS))
  let added = false
  for (const [name, value] of Object.entries(counts)) {
    if (!value) continue
    pipeline.hincrby(key, name, value)
    added = true
  }
  if (added) pipeline.expire(key, EXPORT_SERIES_TTL_SECONDS)
}
