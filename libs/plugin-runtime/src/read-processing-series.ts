import type Redis from 'ioredis'
import { ProcessingHistogram } from './processing-histogram'
import { PROCESSING_COUNT_NAMES, PROCESSING_SERIES_BUCKET_MS, ProcessingCounts, processingSeriesKey } from './processing-series'

export const PROCESSING_SERIES_MAX_MINUTES = 1440

/** Counts plus the call-time quantiles (ms, null when there was no call). */
export interface ProcessingSummary extends ProcessingCounts {
  p50_ms: number | null
  p99_ms: number | null
}

export interface ProcessingSeriesPoint extends ProcessingSummary {
  /** Start of the minute, ISO. */
  t: string
}

export interface ProcessingSeries {
  bucket_seconds: number
  points: ProcessingSeriesPoint[]
  /** The whole window: counts added up, quantiles from the merged histograms. */
  total: ProcessingSummary
}

/** The last `minutes` minutes up to the current one, oldest first, one point each (zeros where nothing ran). */
export async function readProcessingSeries(redis: Redis, queuePrefix: string, configId: number, minutes: number, now = Date.now()): Promise<ProcessingSeries> {
  const buckets = minuteBuckets(minutes, now)
  const pipeline = redis.pipeline()
  for (const minute of buckets) pipeline.hgetall(processingSeriesKey(queuePrefix, configId, minute))
  const results = (await pipeline.exec()) ?? []
  const merged = new ProcessingHistogram()
  const totals = zeroCounts()
  const points = buckets.map((minute, i) => {
    const [err, raw] = results[i] ?? [null, {}]
    if (err) throw err
    const values = (raw ?? {}) as Record<string, string>
    const counts = countsOf((name) => values[name])
    const histogram = ProcessingHistogram.from(values)
    merged.add(histogram)
    for (const name of PROCESSING_COUNT_NAMES) totals[name] += counts[name]
    return { t: new Date(minute * PROCESSING_SERIES_BUCKET_MS).toISOString(), ...counts, ...histogram.quantiles() }
  })
  return { bucket_seconds: PROCESSING_SERIES_BUCKET_MS / 1000, points, total: { ...totals, ...merged.quantiles() } }
}

/** Counts only, per config, over the last `minutes` minutes: the configs list's health column (one round trip for all). */
export async function readProcessingCounts(
  redis: Redis,
  queuePrefix: string,
  configIds: readonly number[],
  minutes: number,
  now = Date.now(),
): Promise<Map<number, ProcessingCounts>> {
  const buckets = minuteBuckets(minutes, now)
  const pipeline = redis.pipeline()
  for (const id of configIds) for (const minute of buckets) pipeline.hmget(processingSeriesKey(queuePrefix, id, minute), ...PROCESSING_COUNT_NAMES)
  const results = configIds.length === 0 ? [] : ((await pipeline.exec()) ?? [])
  const counts = new Map<number, ProcessingCounts>()
  configIds.forEach((id, c) => {
    const sum = zeroCounts()
    for (let b = 0; b < buckets.length; b++) {
      const [err, raw] = results[c * buckets.length + b] ?? [null, []]
      if (err) throw err
      const values = (raw ?? []) as (string | null)[]
      PROCESSING_COUNT_NAMES.forEach((name, i) => (sum[name] += Number(values[i] ?? 0)))
    }
    counts.set(id, sum)
  })
  return counts
}

function minuteBuckets(minutes: number, now: number): number[] {
  const count = Math.min(PROCESSING_SERIES_MAX_MINUTES, Math.max(1, Math.floor(minutes)))
  const last = Math.floor(now / PROCESSING_SERIES_BUCKET_MS)
  return Array.from({ length: count }, (_, i) => last - count + 1 + i)
}

function zeroCounts(): ProcessingCounts {
  return countsOf(() => undefined)
}

function countsOf(value: (name: string) => string | undefined): ProcessingCounts {
  return Object.fromEntries(PROCESSING_COUNT_NAMES.map((name) => [name, Number(value(name) ?? 0) || 0])) as ProcessingCounts
}
