import type Redis from 'ioredis'
import { EXPORT_SERIES_BUCKET_MS, exportSeriesKey } from './export-series'
import { EXPORT_METRIC_NAMES, ExportCounts } from './interfaces'

export const EXPORT_SERIES_MAX_MINUTES = 1440

export interface ExportSeriesPoint extends ExportCounts {
  /** Start of the minute, ISO. */
  t: string
}

export interface ExportSeries {
  bucket_seconds: number
  points: ExportSeriesPoint[]
}

/** The last `minutes` minutes up to the current one, oldest first, one point each (zeros where nothing happened). */
export async function readExportSeries(redis: Redis, queuePrefix: string, configId: number, minutes: number, now = Date.now()): Promise<ExportSeries> {
  const count = Math.min(EXPORT_SERIES_MAX_MINUTES, Math.max(1, Math.floor(minutes)))
  const last = Math.floor(now / EXPORT_SERIES_BUCKET_MS)
  const buckets = Array.from({ length: count }, (_, i) => last - count + 1 + i)
  const pipeline = redis.pipeline()
  for (const minute of buckets) pipeline.hgetall(exportSeriesKey(queuePrefix, configId, minute))
  const results = (await pipeline.exec()) ?? []
  const points = buckets.map((minute, i) => {
    const [err, raw] = results[i] ?? [null, {}]
    if (err) throw err
    const values = (raw ?? {}) as Record<string, string>
    const counts = Object.fromEntries(EXPORT_METRIC_NAMES.map((name) => [name, Number(values[name] ?? 0)])) as ExportCounts
    return { t: new Date(minute * EXPORT_SERIES_BUCKET_MS).toISOString(), ...counts }
  })
  return { bucket_seconds: EXPORT_SERIES_BUCKET_MS / 1000, points }
}
