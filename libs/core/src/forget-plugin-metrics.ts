import type Redis from 'ioredis'
import { redisKeys } from './redis-keys'

/**
 * Drops deleted configs' plugin metrics (the hash and its index entry): written by the workers in
 * libs/plugin-runtime, dropped by management when a config is deleted and by the collector when it
 * finds one whose config is gone (a worker's write that landed after the delete).
 */
export async function forgetPluginMetrics(redis: Redis, queuePrefix: string, configIds: readonly number[]): Promise<void> {
  if (configIds.length === 0) return
  const keys = redisKeys(queuePrefix)
  const replies = await redis
    .multi()
    .del(...configIds.map((id) => keys.pluginMetrics(id)))
    .srem(keys.pluginMetricsConfigs(), ...configIds.map(String))
    .exec()
  for (const [err] of replies ?? []) if (err) throw err
}
