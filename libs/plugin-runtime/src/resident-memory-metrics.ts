import { Counter, Gauge, Registry } from 'prom-client'

export interface ResidentMemoryMetrics {
  limit: Gauge
  cap: Gauge
  unloaded: Counter
}

// One set per registry, however many plugin managers (tests, roles) share it.
const byRegistry = new WeakMap<Registry, ResidentMemoryMetrics>()

/**
 * What the resident memory guard does, next to `process_resident_memory_bytes`: its limit, the cap
 * it holds the live configs to (PLUGIN_MAX_LIVE_INSTANCES while it has not cut) and the configs it
 * unloaded. Exported from start-up, so an alert sees the first cut.
 */
export function residentMemoryMetrics(registry: Registry): ResidentMemoryMetrics {
  let metrics = byRegistry.get(registry)
  if (!metrics) {
    metrics = {
      limit: new Gauge({ name: 'plugin_rss_limit_bytes', help: 'PLUGIN_RSS_LIMIT_MB of this process, in bytes (0: no guard)', registers: [registry] }),
      cap: new Gauge({
        name: 'plugin_live_instances_cap',
        help: 'Live plugin configs this process keeps now: PLUGIN_MAX_LIVE_INSTANCES, or less while its resident memory is over PLUGIN_RSS_LIMIT_MB',
        registers: [registry],
      }),
      unloaded: new Counter({
        name: 'plugin_instances_unloaded_for_rss_total',
        help: 'Idle plugin instances unloaded because the process was over PLUGIN_RSS_LIMIT_MB (each is set up again on its next use)',
        registers: [registry],
      }),
    }
    byRegistry.set(registry, metrics)
  }
  return metrics
}
