import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { findPluginConfigPlugin } from '@plugin-server/db'
import { readMetrics } from '@plugin-server/plugin-runtime'
import { deadLetterCounts } from './dead-letters'
import { listHistoricalProgress } from './historical-progress'
import { EXPORT_METRIC_NAMES, ExportCounts, ExportStatus } from './interfaces'
import { exportKeys } from './keys'

/** The newest historical runs status shows; older ones are in the admin API's paged list. */
const STATUS_HISTORICAL_RUNS = 20

/** What `plugin-server export status` prints: fleet-wide metrics, buffer, pending work, dead letters, the newest historical runs (oldest of them first). */
export async function exportStatus(pool: Pool, redis: Redis, prefix: string, configId: number): Promise<ExportStatus> {
  const config = await findPluginConfigPlugin(pool, configId)
  if (!config) throw new Error(`plugin config ${configId} not found`)
  const keys = exportKeys(prefix)
  const [all, events, bytes, since, oldest, pending, retrying, dead, runs] = await Promise.all([
    readMetrics(redis, prefix, configId),
    redis.llen(keys.buffer(configId)),
    redis.get(keys.bufferBytes(configId)),
    redis.zscore(keys.buffered(), String(configId)),
    redis.zrange(keys.pending(configId), 0, 0, 'WITHSCORES'),
    redis.zcard(keys.pending(configId)),
    redis.zcard(keys.retrying(configId)),
    deadLetterCounts(pool, configId),
    listHistoricalProgress(pool, redis, prefix, configId, { limit: STATUS_HISTORICAL_RUNS }),
  ])
  const now = Date.now()
  const metrics = Object.fromEntries(EXPORT_METRIC_NAMES.map((name) => [name, all[name] ?? 0])) as ExportCounts
  const pluginMetrics = Object.fromEntries(Object.entries(all).filter(([name]) => !(EXPORT_METRIC_NAMES as readonly string[]).includes(name)))
  return {
    pluginConfigId: configId,
    teamId: config.team_id,
    plugin: config.name,
    metrics,
    pluginMetrics,
    buffer: { events, bytes: Number(bytes ?? 0), ageSeconds: since === null ? null : (now - Number(since)) / 1000 },
    pendingBatches: pending,
    oldestPendingBatchAgeSeconds: oldest.length === 2 ? (now - Number(oldest[1])) / 1000 : null,
    retriesInFlight: retrying,
    deadLetters: dead,
    historicalRuns: runs.reverse(),
  }
}
