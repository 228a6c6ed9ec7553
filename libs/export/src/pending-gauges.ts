import type Redis from 'ioredis'
import { Gauge, Registry } from 'prom-client'
import type { PluginConfigRecord } from '@plugin-server/meta'
import { exportKeys } from './keys'

/**
 * Fleet state read from Redis at scrape time: every exporter reports the same values, so dashboards
 * take max() over instances. Counters stay per process (see ExportMetrics); these are levels.
 */
export function registerPendingGauges(registry: Registry, redis: Redis, prefix: string, configs: () => readonly PluginConfigRecord[]): void {
  const keys = exportKeys(prefix)
  const labelNames = ['team_id', 'plugin', 'plugin_config_id']
  let collecting: Promise<void> | null = null
  // prom-client calls collect() once per gauge; one Redis round trip serves all four.
  const shared = async () => {
    collecting ??= collect().finally(() => setTimeout(() => (collecting = null), 0))
    await collecting
  }
  const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames, registers: [registry], collect: shared })
  const oldest = gauge('plugin_export_oldest_pending_batch_age_seconds', 'Age of the oldest delivery job not finished yet')
  const pending = gauge('plugin_export_pending_batches', 'Delivery jobs not finished yet (waiting, running or waiting for a retry)')
  const retrying = gauge('plugin_export_retries_in_flight', 'Delivery jobs waiting for a RetryError retry')
  const buffered = gauge('plugin_export_buffer_age_seconds', 'Age of the oldest event in the exportEvents buffer')
  const collect = async () => {
    const records = configs()
    const multi = redis.multi()
    for (const r of records) {
      multi.zrange(keys.pending(r.id), 0, 0, 'WITHSCORES')
      multi.zcard(keys.pending(r.id))
      multi.zcard(keys.retrying(r.id))
      multi.zscore(keys.buffered(), String(r.id))
    }
    const results = (await multi.exec()) ?? []
    const now = Date.now()
    for (const g of [oldest, pending, retrying, buffered]) g.reset()
    records.forEach((r, i) => {
      const labels = { team_id: String(r.teamId), plugin: r.pluginName, plugin_config_id: String(r.id) }
      const [first, count, retries, since] = results.slice(i * 4, i * 4 + 4).map((x) => x[1]) as [string[], number, number, string | null]
      if (count === 0 && retries === 0 && since === null) return
      oldest.set(labels, first.length === 2 ? (now - Number(first[1])) / 1000 : 0)
      pending.set(labels, count)
      retrying.set(labels, retries)
      buffered.set(labels, since === null ? 0 : (now - Number(since)) / 1000)
    })
  }
}
