import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { getHistoricalRun, HistoricalRunPage, listHistoricalRuns } from '@plugin-server/db'
import { readHistoricalCounts } from './historical-pages'
import type { HistoricalRun, HistoricalRunProgress } from './interfaces'

/**
 * Progress from the stored run and the exporters' live counts (the final counts once those are
 * gone). Every counted event belongs to the run's fixed total, so `done` never exceeds it.
 */
export async function historicalProgress(redis: Redis, prefix: string, runs: readonly HistoricalRun[], now = Date.now()): Promise<HistoricalRunProgress[]> {
  const live = await readHistoricalCounts(
    redis,
    prefix,
    runs.map((r) => r.id),
  )
  return runs.map((run, i) => {
    const exported = live[i]?.exported ?? run.exportedEvents ?? 0
    const failed = live[i]?.failed ?? run.failedEvents ?? 0
    const done = exported + failed + run.skippedEvents
    const total = run.totalEvents
    const start = run.startedAt === null ? null : Date.parse(run.startedAt)
    const end = run.finishedAt === null ? now : Date.parse(run.finishedAt)
    const rate = start === null ? 0 : done / Math.max(0.001, (end - start) / 1000)
    return {
      id: run.id,
      pluginConfigId: run.pluginConfigId,
      status: run.status,
      from: run.from,
      to: run.to,
      batchSize: run.batchSize,
      total,
      enqueued: run.enqueuedEvents,
      exported,
      failed,
      skipped: run.skippedEvents,
      done,
      percent: total === null ? null : total === 0 ? 100 : Math.floor((done / total) * 100),
      rate,
      etaSeconds: run.status === 'running' && total !== null && rate > 0 ? Math.max(0, total - done) / rate : null,
      snapshotAt: run.snapshotAt,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      cancelledAt: run.cancelledAt,
      finishedAt: run.finishedAt,
      lastError: run.lastError,
    }
  })
}

/** A page of the config's historical runs, newest first, with their progress. */
export async function listHistoricalProgress(
  pool: Pool,
  redis: Redis,
  prefix: string,
  configId: number,
  page: HistoricalRunPage,
): Promise<HistoricalRunProgress[]> {
  return historicalProgress(redis, prefix, await listHistoricalRuns(pool, configId, page))
}

/** One run's progress; null if there is no such run. */
export async function getHistoricalProgress(pool: Pool, redis: Redis, prefix: string, runId: number): Promise<HistoricalRunProgress | null> {
  const run = await getHistoricalRun(pool, runId)
  return run ? (await historicalProgress(redis, prefix, [run]))[0] : null
}
