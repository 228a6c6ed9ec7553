import type Redis from 'ioredis'
import { Counter, Registry } from 'prom-client'
import { removeSeries } from '@plugin-server/core'
import { addMetricSums } from '@plugin-server/plugin-runtime'
import { addToExportSeries } from './export-series'
import { DeliverySource, EXPORT_METRIC_NAMES, ExportCounts, ExportMethod } from './interfaces'

export interface MetricLabels {
  teamId: number
  pluginName: string
  configId: number
}

/**
 * The reference's export metrics, written three times: into the fleet-wide plugin metrics hash in
 * Redis (what `export status` and the plugin's metrics show, summed over every exporter), into a
 * per-minute series next to it (the admin UI's chart), and into this process's Prometheus counters
 * (`plugin_export_<name>_total`, summed over exporters by PromQL).
 *
 * Historical runs count only in Prometheus: their progress is counted per run (exported, failed),
 * so the totals and the series stay about live delivery (and replays of its dead letters), which a
 * backfill of a year of events would otherwise swamp.
 */
export class ExportMetrics {
  private readonly counters: Record<keyof ExportCounts, Counter<'team_id' | 'plugin' | 'plugin_config_id' | 'method'>>

  constructor(
    registry: Registry,
    private readonly redis: Redis,
    private readonly queuePrefix: string,
  ) {
    const labelNames = ['team_id', 'plugin', 'plugin_config_id', 'method'] as const
    this.counters = Object.fromEntries(
      EXPORT_METRIC_NAMES.map((name) => [name, new Counter({ name: `plugin_export_${name}_total`, help: HELP[name], labelNames, registers: [registry] })]),
    ) as Record<keyof ExportCounts, Counter<(typeof labelNames)[number]>>
  }

  /** Drops a deleted config's series, which would otherwise be exported until the process restarts. */
  async forget(configId: number): Promise<void> {
    await Promise.all(Object.values(this.counters).map((counter) => removeSeries(counter, 'plugin_config_id', String(configId))))
  }

  /** Totals and the per-minute series in one round trip. */
  async add(labels: MetricLabels, method: ExportMethod, counts: Partial<ExportCounts>, source: DeliverySource['type'] = 'live'): Promise<void> {
    const promLabels = { team_id: String(labels.teamId), plugin: labels.pluginName, plugin_config_id: String(labels.configId), method }
    const added: Partial<ExportCounts> = {}
    for (const name of EXPORT_METRIC_NAMES) {
      const value = counts[name] ?? 0
      if (value === 0) continue
      this.counters[name].inc(promLabels, value)
      added[name] = value
    }
    if (Object.keys(added).length === 0 || source === 'historical') return
    const pipeline = this.redis.pipeline()
    addMetricSums(pipeline, this.queuePrefix, labels.configId, added)
    addToExportSeries(pipeline, this.queuePrefix, labels.configId, added)
    for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err
  }
}

const HELP: Record<keyof ExportCounts, string> = {
  events_seen: 'Events handed to an export method for the first time',
  events_delivered_successfully: 'Events the export method took without throwing',
  retry_errors: 'RetryErrors thrown by an export method (for webhooks: network errors, 429 and 5xx)',
  other_errors: 'Other errors thrown by an export method; not retried',
  undelivered_events: 'Events given up on: other errors and exhausted retries (kept as dead letters)',
}
