import type { Pool } from 'pg'
import { cancelHistoricalRun, createHistoricalRun, getHistoricalRun, readConfigVersion } from '@plugin-server/db'
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
 * A start refused for what the config is: disabled, or running a version without exportEvents.
 * Either way every page would only become a dead letter (and a replay of them the same again).
 */
export class HistoricalExportRefused extends Error {
  override name = 'HistoricalExportRefused'
}

/**
 * Unfinished (queued or running) runs one config may have at once: a few disjoint ranges, not a
 * backlog that would keep the exporters' historical slots for itself.
 */
export const MAX_UNFINISHED_RUNS_PER_CONFIG = 3
/** Unfinished runs all of one team's configs may have at once. */
export const MAX_UNFINISHED_RUNS_PER_TEAM = 10

/** A start refused because the config or its team already has as many unfinished runs as it may. */
export class HistoricalRunLimit extends Error {
  override name = 'HistoricalRunLimit'
  constructor(configId: number, teamId: number, of: 'config' | 'team', unfinished: number) {
    const whose = of === 'config' ? `plugin config ${configId}` : `team ${teamId}`
    // The server's own limits, not settings: named by what they count.
    const limit = of === 'config' ? `${MAX_UNFINISHED_RUNS_PER_CONFIG} per config` : `${MAX_UNFINISHED_RUNS_PER_TEAM} per team`
    super(`${whose} already has ${unfinished} unfinished historical export runs, the limit (${limit}): wait for one to finish or cancel one first`)
  }
}

/**
 * Enqueues a historical export run for the exporters (this does no export work): a new run, or the
 * unfinished one of exactly this config and range (`created: false`), fleet-wide. A range that
 * overlaps an unfinished run of the config without being the same throws HistoricalRunOverlap; one
 * past the config's or the team's unfinished runs, HistoricalRunLimit; a disabled config, or one
 * whose version has no exportEvents, HistoricalExportRefused.
 */
export async function startHistoricalExport(
  pool: Pool,
  queue: HistoricalQueue,
  configId: number,
  request: HistoricalExportRequest,
): Promise<{ run: HistoricalRun; created: boolean }> {
  if (!(request.from < request.to)) throw new Error('from must be before to')
  const config = await readConfigVersion(pool, configId)
  if (!config) throw new Error(`plugin config ${configId} not found`)
  const plugin = `plugin ${JSON.stringify(config.pluginName)}`
  // Its driver would cancel the run at once ("config disabled"); saying so now is clearer.
  if (!config.enabled) throw new HistoricalExportRefused(`plugin config ${configId} (${plugin}) is disabled: enable it before a historical export`)
  // Capabilities not learned yet (a version stored before they were recorded) are not a reason to refuse.
  if (config.capabilities && !config.capabilities.methods.includes('exportEvents')) {
    throw new HistoricalExportRefused(
      `${plugin} version ${config.version} (plugin config ${configId}) has no exportEvents method: a historical export runs stored events through exportEvents`,
    )
  }
  const result = await createHistoricalRun(pool, {
    configId,
    teamId: config.teamId,
    ...request,
    maxUnfinished: { config: MAX_UNFINISHED_RUNS_PER_CONFIG, team: MAX_UNFINISHED_RUNS_PER_TEAM },
  })
  if (result.outcome === 'limit') throw new HistoricalRunLimit(configId, config.teamId, result.of, result.unfinished)
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
