import type { Logger } from '@plugin-server/core'
import { addToProcessingSeries } from '@plugin-server/plugin-runtime'
import type Redis from 'ioredis'
import { Counter, Histogram, Registry } from 'prom-client'
import type { ProcessingTally } from './processing-tally'

/** Warnings about lost writes are logged at most this often. */
const WARN_EVERY_MS = 60_000

/**
 * Per-config processEvent metrics of one ingest worker, written twice per batch: into the
 * fleet-wide per-minute series in Redis (admin API, status page, configs list), in one pipeline
 * round trip per team's part of a batch, and into this process's Prometheus series, labelled by
 * plugin only (one series per installed plugin and outcome: installs are the operator's, so the
 * label set is bounded however many teams configure a plugin).
 *
 * The Redis write is not awaited by the batch: a slow or unreachable Redis costs the metrics, never
 * ingestion. A batch retried after its processEvent ran is counted again (ingestion is at-least-once).
 */
export class ProcessingMetrics {
  private readonly events: Counter<'plugin' | 'outcome'>
  private readonly seconds: Histogram<'plugin'>
  private readonly writeFailures: Counter
  private readonly writes = new Set<Promise<void>>()
  private warnedAt = 0

  constructor(
    registry: Registry,
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly logger: Logger,
  ) {
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
      help: 'Batches whose per-config processing metrics could not be written to Redis',
      registers: [registry],
    })
  }

  record(tally: ProcessingTally): void {
    const entries = tally.entries()
    if (entries.length === 0) return
    const pipeline = this.redis.pipeline()
    const now = Date.now()
    for (const { target, sample } of entries) {
      const plugin = target.pluginName
      this.events.inc({ plugin, outcome: 'returned' }, sample.events_returned)
      this.events.inc({ plugin, outcome: 'dropped' }, sample.events_dropped)
      this.events.inc({ plugin, outcome: 'failed' }, sample.events_failed)
      // A config is called once per team's part of a batch, so the average is that call's time.
      for (let i = 0; i < sample.calls; i++) this.seconds.observe({ plugin }, sample.time_ms / sample.calls / 1000)
      addToProcessingSeries(pipeline, this.queuePrefix, target.configId, sample, now)
    }
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

  /** Waits for the writes in flight (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.writes])
  }

  private failed(err: Error): void {
    this.writeFailures.inc()
    if (Date.now() - this.warnedAt < WARN_EVERY_MS) return
    this.warnedAt = Date.now()
    this.logger.warn({ err: err.message }, 'per-config processing metrics not written to Redis; the status page misses this batch')
  }
}
