import type Redis from 'ioredis'
import { Gauge, Registry } from 'prom-client'
import { metricsKey } from './metrics-store'

/**
 * Exposes every config's fleet-wide plugin metrics (`meta.metrics`, and the export metrics kept in
 * the same store) as one gauge read from Redis at scrape time. One role registers it (the HTTP
 * app), so the values are not repeated by every worker.
 */
export function registerPluginMetricsCollector(registry: Registry, redis: Redis, queuePrefix: string): Gauge<'plugin_config_id' | 'metric'> {
  const prefix = metricsKey(queuePrefix, 0).slice(0, -1)
  return new Gauge({
    name: 'plugin_metric',
    help: 'Plugin metrics (meta.metrics sum/max/min and export metrics), aggregated across the fleet, per plugin config',
    labelNames: ['plugin_config_id', 'metric'],
    registers: [registry],
    async collect() {
      this.reset()
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
        cursor = next
        for (const key of keys) {
          const configId = key.slice(prefix.length)
          for (const [metric, value] of Object.entries(await redis.hgetall(key))) this.set({ plugin_config_id: configId, metric }, Number(value))
        }
      } while (cursor !== '0')
    },
  })
}
