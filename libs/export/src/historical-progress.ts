import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { listHistoricalRuns } from './historical-runs'
import { HistoricalRunProgress } from './interfaces'
import { exportKeys } from './keys'

/** The config's historical runs, oldest first, with how many of their events the exporters finished (`done`). */
export async function listHistoricalProgress(pool: Pool, redis: Redis, prefix: string, configId: number): Promise<HistoricalRunProgress[]> {
  const runs = await listHistoricalRuns(pool, configId)
  if (runs.length === 0) return []
  const keys = exportKeys(prefix)
  const done = await redis.mget(...runs.map((r) => keys.historicalEvents(r.id)))
  return runs.map((r, i) => ({
    id: r.id,
    status: r.status,
    from: r.from,
    to: r.to,
    total: r.totalEvents,
    enqueued: r.enqueuedEvents,
    done: Number(done[i] ?? 0),
    createdAt: r.createdAt,
    finishedAt: r.finishedAt,
  }))
}
