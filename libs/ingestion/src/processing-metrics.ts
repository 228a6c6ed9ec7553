import type { Logger } from '@plugin-server/core'
import { addToProcessingSeries, CountedWarning, PROCESSING_COUNT_NAMES, PROCESSING_SERIES_BUCKET_MS, ProcessingSample } from '@plugin-server/plugin-runtime'
import type Redis from 'ioredis'
import { Counter, Histogram, Registry } from 'prom-client'
import type { ProcessingTally } from './processing-tally'

/** Warnings about lost writes are logged at most this often, with how many were lost since the last. */
const WARN_EVERY_MS = 60_000
/**
 * Batches' samples are added up in memory and written to Redis at most this often: a busy worker
 * runs hundreds of batches a second, and a write per batch cost ~7 commands per config (a sixth of
 * the host's allocations and ~0.5 µs of CPU per event with 3 plugins). The series is per minute.
 */
const WRITE_EVERY_MS = 1000

/** One config's samples within one minute, not written yet. */
interface PendingSample {
  configId: number
  epochMinute: number
  sample: ProcessingSample
}

/**
 * Per-config processEvent metrics of one ingest worker: into the fleet-wide per-minute series in
 * Redis (admin API, status page, configs list), every config's samples of the last second added up
 * and written in one pipeline round trip (WRITE_EVERY_MS), and at once into this process's
 * Prometheus series, labelled by plugin only (one series per installed plugin and outcome: installs
 * are the operator's, so the label set is bounded however many teams configure a plugin).
 *
 * The Redis write is not awaited by the batch: a slow or unreachable Redis costs the metrics, never
 * ingestion; a worker killed outright loses its last second. A batch retried after its processEvent
 * ran is counted again (ingestion is at-least-once).
 */
export class ProcessingMetrics {
  private readonly events: Counter<'plugin' | 'outcome'>
  private readonly seconds: Histogram<'plugin'>
  private readonly writeFailures: Counter
  private readonly writes = new Set<Promise<void>>()
  /** By config and minute. */
  private pending = new Map<string, PendingSample>()
  private timer: NodeJS.Timeout | undefined
  private readonly failureWarning: CountedWarning<string>

  constructor(
    registry: Registry,
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.failureWarning = new CountedWarning(
      WARN_EVERY_MS,
      (writes, _first, err) =>
        this.logger.warn({ err, failed_writes: writes }, 'per-config processing metrics not written to Redis; the status page misses those batches'),
      now,
    )
    this.events = new Counter({
      name: 'plugin_process_event_events_total',
      help: "Events through a plugin's processEvent, by outcome: returned (an event), dropped (nothing returned), failed (threw, timed out, or returned something that is not an event)",
      labelNames: ['plugin', 'outcome'],
      registers: [registry],
    })
    this.seconds = new Histogram({
      name: 'plugin_process_event_call_seconds',
      help: "Duration of one call into a plugin's processEvent (one per team's part of a batch)",
      labelNames: ['plugin'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    })
    this.writeFailures = new Counter({
      name: 'plugin_process_event_metrics_write_failures_total',
      help: 'Writes of per-config processing metrics (a second of batches each, at most) that Redis refused',
      registers: [registry],
    })
  }

  record(tally: ProcessingTally): void {
    const entries = tally.entries()
    if (entries.length === 0) return
    const epochMinute = Math.floor(this.now() / PROCESSING_SERIES_BUCKET_MS)
    for (const { target, sample } of entries) {
      const plugin = target.pluginName
      this.events.inc({ plugin, outcome: 'returned' }, sample.events_returned)
      this.events.inc({ plugin, outcome: 'dropped' }, sample.events_dropped)
      this.events.inc({ plugin, outcome: 'failed' }, sample.events_failed)
      // A config is called once per team's part of a batch, so the average is that call's time.
      for (let i = 0; i < sample.calls; i++) this.seconds.observe({ plugin }, sample.time_ms / sample.calls / 1000)
      const key = `${target.configId}:${epochMinute}`
      const pending = this.pending.get(key)
      if (pending) addSample(pending.sample, sample)
      // A copy: the tally is the batch's own.
      else this.pending.set(key, { configId: target.configId, epochMinute, sample: { ...sample, histogram: new Map(sample.histogram) } })
    }
    // Not holding the process open: shutdown writes what is left (flush).
    this.timer ??= setTimeout(() => this.write(), WRITE_EVERY_MS).unref()
  }

  /** Writes what is not written yet and waits for every write in flight (shutdown, tests). */
  async flush(): Promise<void> {
    this.write()
    await Promise.allSettled([...this.writes])
  }

  private write(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.size === 0) return
    const pipeline = this.redis.pipeline()
    for (const { configId, epochMinute, sample } of this.pending.values()) {
      addToProcessingSeries(pipeline, this.queuePrefix, configId, sample, epochMinute * PROCESSING_SERIES_BUCKET_MS)
    }
    this.pending = new Map()
    const write: Promise<void> = pipeline
      .exec()
      .then((results) => {
        const failed = (results ?? []).find(([err]) => err)
        if (failed) throw failed[0]
      })
      .catch((err: Error) => this.failed(err))
      .finally(() => this.writes.delete(write))
    this.writes.add(write)
  }

  private failed(err: Error): void {
    this.writeFailures.inc()
    this.failureWarning.add(1, err.message)
  }
}

/** Adds `from` into `into` (counts and histogram buckets). */
function addSample(into: ProcessingSample, from: ProcessingSample): void {
  for (const name of PROCESSING_COUNT_NAMES) into[name] += from[name]
  for (const [bucket, calls] of from.histogram) into.histogram.set(bucket, (into.histogram.get(bucket) ?? 0) + calls)
}
