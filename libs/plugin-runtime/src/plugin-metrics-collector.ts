import type Redis from 'ioredis'
import { Counter, Gauge, Registry } from 'prom-client'
import { withTimeout } from '@plugin-server/core'
import { ExistingConfigIds, indexExistingMetrics, readAllMetrics } from './metrics-store'

/** A scrape waits this long for Redis before it reports no plugin metrics and counts an error. */
const READ_TIMEOUT_MS = 2000
/** Scrapes within this long of a read share it, however many scrapers ask. */
const READ_REUSE_MS = 1000

/**
 * Exposes every config's fleet-wide plugin metrics (`meta.metrics`, and the export metrics kept in
 * the same store) as one gauge read from Redis at scrape time. One role registers it (the HTTP
 * app), so the values are not repeated by every worker. A scrape costs three round trips whatever
 * the keyspace holds (the config index, which of them exist, then their hashes in one pipeline), at
 * most once a second. `existing` answers which configs exist: deleted ones are neither reported nor kept.
 */
export function registerPluginMetricsCollector(
  registry: Registry,
  redis: Redis,
  queuePrefix: string,
  existing: ExistingConfigIds,
): Gauge<'plugin_config_id' | 'metric'> {
  const errors = new Counter({
    name: 'plugin_metric_read_errors_total',
    help: 'Scrapes at which plugin metrics could not be read from Redis',
    registers: [registry],
  })
  // Hashes written before the index existed; until this is done a scrape may miss some of them.
  let indexed: Promise<void> | null = null
  const index = (): Promise<void> =>
    (indexed ??= indexExistingMetrics(redis, queuePrefix).catch((err: unknown) => {
      indexed = null
      throw err
    }))
  let cached: { at: number; read: Promise<Map<number, Record<string, number>> | null> } | null = null
  // The read Redis has not answered yet: a scrape past READ_TIMEOUT_MS gives up waiting for it, not
  // the read itself, so a later scrape waits for it again rather than queueing one more behind it
  // (a Redis stalled for an hour had every scrape's read, and its Postgres lookup, run at once after).
  let reading: Promise<Map<number, Record<string, number>>> | null = null
  const read = (): Promise<Map<number, Record<string, number>> | null> => {
    const now = Date.now()
    if (!cached || now - cached.at > READ_REUSE_MS) {
      reading ??= index()
        .then(() => readAllMetrics(redis, queuePrefix, existing))
        .finally(() => (reading = null))
      const read = withTimeout(reading, READ_TIMEOUT_MS).catch(() => {
        errors.inc()
        return null
      })
      cached = { at: now, read }
    }
    return cached.read
  }
  return new Gauge({
    name: 'plugin_metric',
    help: 'Plugin metrics (meta.metrics sum/max/min and export metrics), aggregated across the fleet, per plugin config',
    labelNames: ['plugin_config_id', 'metric'],
    registers: [registry],
    async collect() {
      this.reset()
      for (const [configId, metrics] of (await read()) ?? new Map<number, Record<string, number>>()) {
        for (const [metric, value] of Object.entries(metrics)) this.set({ plugin_config_id: String(configId), metric }, value)
      }
    },
  })
}
