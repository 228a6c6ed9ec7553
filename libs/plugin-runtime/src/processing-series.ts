import type { ChainableCommander } from 'ioredis'
import { processingKeys } from './processing-keys'

/**
 * Per config and minute, what its processEvent did, summed over every ingest worker: one Redis
 * HASH per minute, kept a day plus an hour (so the oldest minute of a 24 h chart is complete).
 * Durations go into a small fixed histogram in the same hash, so workers' minutes merge by
 * adding and the quantiles are computed when read.
 */
export const PROCESSING_SERIES_BUCKET_MS = 60_000
export const PROCESSING_SERIES_TTL_SECONDS = 25 * 3600

export const PROCESSING_COUNT_NAMES = ['events_in', 'events_returned', 'events_dropped', 'events_failed', 'calls', 'time_ms'] as const
export type ProcessingCountName = (typeof PROCESSING_COUNT_NAMES)[number]

/**
 * - `events_in`: events handed to the config's processEvent;
 * - `events_returned`: it returned an event for them (the chain goes on with it);
 * - `events_dropped`: it returned nothing (the event is not stored);
 * - `events_failed`: it threw, timed out, or returned something that is not an event (the event goes on unchanged);
 * - `calls`: calls into the sandbox (one per team's part of a batch), and `time_ms` their total duration.
 */
export type ProcessingCounts = Record<ProcessingCountName, number>

/**
 * Histogram bucket i holds calls that took at most 2^(i/2) ms (bucket 0: up to 1 ms), so a
 * quantile read back is within a factor √2; 36 buckets reach 2^17.5 ms (~3 min), past any timeout.
 */
export const PROCESSING_TIME_BUCKETS = 36

export function processingTimeBucket(ms: number): number {
  if (!(ms > 1)) return 0
  return Math.min(PROCESSING_TIME_BUCKETS - 1, Math.ceil(2 * Math.log2(ms)))
}

/** Upper bound of a bucket, in ms. */
export function processingBucketBound(bucket: number): number {
  return 2 ** (bucket / 2)
}

/** HASH field of a histogram bucket. */
export function processingBucketField(bucket: number): string {
  return `h${bucket}`
}

/** One config's processEvent work in one batch, as a worker adds it up before writing it once. */
export interface ProcessingSample extends ProcessingCounts {
  /** Histogram bucket → calls. */
  histogram: Map<number, number>
}

/** The minute's HASH (processing-keys.ts). */
export function processingSeriesKey(queuePrefix: string, configId: number, epochMinute: number): string {
  return processingKeys(queuePrefix).series(configId, epochMinute)
}

/** Adds a batch's sample to the current minute's bucket, on the caller's pipeline. */
export function addToProcessingSeries(pipeline: ChainableCommander, queuePrefix: string, configId: number, sample: ProcessingSample, now = Date.now()): void {
  const key = processingSeriesKey(queuePrefix, configId, Math.floor(now / PROCESSING_SERIES_BUCKET_MS))
  for (const name of PROCESSING_COUNT_NAMES) {
    const value = Math.round(sample[name])
    if (value !== 0) pipeline.hincrby(key, name, value)
  }
  for (const [bucket, calls] of sample.histogram) pipeline.hincrby(key, processingBucketField(bucket), calls)
  pipeline.expire(key, PROCESSING_SERIES_TTL_SECONDS)
}
