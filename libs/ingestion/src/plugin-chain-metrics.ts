import { Counter, Histogram, Registry } from 'prom-client'
import { removeSeries } from '@plugin-server/core'

export interface PluginChainMetrics {
  callSeconds: Histogram<'plugin_config_id' | 'method'>
  errors: Counter<'plugin_config_id' | 'method'>
  dropped: Counter<'plugin_config_id'>
}

export function createPluginChainMetrics(registry: Registry): PluginChainMetrics {
  return {
    callSeconds: new Histogram({
      name: 'plugin_call_seconds',
      help: 'Duration of one call into a plugin (processEvent: one call per batch)',
      labelNames: ['plugin_config_id', 'method'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'plugin_errors_total',
      help: 'Events a plugin failed on, or calls that failed',
      labelNames: ['plugin_config_id', 'method'],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'plugin_events_dropped_total',
      help: 'Events dropped by processEvent returning nothing',
      labelNames: ['plugin_config_id'],
      registers: [registry],
    }),
  }
}

/** Drops a deleted config's series, which would otherwise be exported until the process restarts. */
export async function forgetPluginChainSeries(metrics: PluginChainMetrics, configId: number): Promise<void> {
  const id = String(configId)
  await Promise.all([
    removeSeries(metrics.callSeconds, 'plugin_config_id', id),
    removeSeries(metrics.errors, 'plugin_config_id', id),
    removeSeries(metrics.dropped, 'plugin_config_id', id),
  ])
}
