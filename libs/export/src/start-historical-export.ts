import type { Pool } from 'pg'
import { cancelHistoricalRun, createHistoricalRun, getConfigValues, getHistoricalRun } from '@plugin-server/db'
import type { HistoricalQueue } from './historical-queue'
import type { HistoricalRun } from './interfaces'

export interface HistoricalExportRequest {
  from: Date
  to: Date
  /** Events per exportEvents batch (page). */
  batchSize: number
  /** Pages handed to the exporters and not finished yet, at most. */
  maxInFlight: number
}

/** A start refused because an unfinished run of the config covers part of the range. */
export class HistoricalRunOverlap extends Error {
  override name = 'HistoricalRunOverlap'
  constructor(readonly run: HistoricalRun) {
    super(
      `plugin config ${run.pluginConfigId} already has historical export run ${run.id} (${run.status}) for ${run.from} – ${run.to}, ` +
        'which overlaps this range: wait for it or cancel it first',
    )
  }
}

/**
 * Enqueues a historical export run for the exporters (this does no export work): a new run, or the
 * unfinished one of exactly this config and range (`created: false`), fleet-wide. A range that
 * overlaps an unfinished run of the config without being the same throws HistoricalRunOverlap.
 */
export async function startHistoricalExport(
  pool: Pool,
  queue: HistoricalQueue,
  configId: number,
  request: HistoricalExportRequest,
): Promise<{ run: HistoricalRun; created: boolean }> {
  if (!(request.from < request.to)) throw new Error('from must be before to')
  const config = await getConfigValues(pool, configId)
  if (!config) throw new Error(`plugin config ${configId} not found`)
  const result = await createHistoricalRun(pool, { configId, teamId: config.teamId, ...request })
  if (result.outcome === 'overlap') throw new HistoricalRunOverlap(result.run)
  await queue.ensure(result.run.id)
  return { run: result.run, created: result.outcome === 'created' }
}

export type CancelHistoricalResult =
  | { outcome: 'cancelled'; run: HistoricalRun }
  /** Already done or cancelled: nothing changed. */
  | { outcome: 'finished'; run: HistoricalRun }
  | { outcome: 'not_found' }

/**
 * Marks the run cancelled: its exporter stops before the next page and exporters drop its pages not
 * started yet; a page being delivered at that moment finishes.
 */
export async function cancelHistoricalExport(pool: Pool, runId: number): Promise<CancelHistoricalResult> {
  const cancelled = await cancelHistoricalRun(pool, runId)
  if (cancelled) return { outcome: 'cancelled', run: cancelled }
  const run = await getHistoricalRun(pool, runId)
  return run ? { outcome: 'finished', run } : { outcome: 'not_found' }
}
