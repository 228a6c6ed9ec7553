import type { HistoricalRun } from '@plugin-server/admin-contract'
import {
  cancelHistoricalExport,
  getHistoricalProgress,
  HistoricalQueue,
  HistoricalRunLimit,
  HistoricalRunOverlap,
  HistoricalRunProgress,
  listHistoricalProgress,
  startHistoricalExport,
  HistoricalExportRefused,
} from '@plugin-server/export'
import type { HistoricalRunPage } from '@plugin-server/db'
import type { ManagementContext } from '@plugin-server/management'
import { HttpError } from './interfaces'

/** A historical run as the API shows it (the contract's shape, which `view` must build). */
export type HistoricalRunView = HistoricalRun

export interface HistoricalRange {
  from: Date
  to: Date
  batchSize: number
}

/** Pages handed to the exporters and not finished yet, at most (the CLI's default). */
const MAX_IN_FLIGHT = 4

function view(p: HistoricalRunProgress): HistoricalRunView {
  return {
    id: p.id,
    status: p.status,
    from: p.from,
    to: p.to,
    batch_size: p.batchSize,
    total: p.total,
    enqueued: p.enqueued,
    exported: p.exported,
    failed: p.failed,
    skipped: p.skipped,
    done: p.done,
    percent: p.percent,
    rate: p.rate,
    eta_seconds: p.etaSeconds,
    snapshot_at: p.snapshotAt,
    created_at: p.createdAt,
    started_at: p.startedAt,
    cancelled_at: p.cancelledAt,
    finished_at: p.finishedAt,
    error: p.lastError,
  }
}

/**
 * Historical exports as the API sees them: it enqueues runs and cancels them, and reads their
 * progress; the exporters do the work (a restart of this process changes nothing about a run).
 */
export class HistoricalExports {
  private queue: HistoricalQueue | null = null

  constructor(private readonly management: ManagementContext) {}

  /** The new run, or the unfinished one of exactly this range (`created: false`); 409 for a range overlapping an unfinished run. */
  async start(configId: number, range: HistoricalRange): Promise<{ run: HistoricalRunView; created: boolean }> {
    const { pool, logger } = this.management
    try {
      const { run, created } = await startHistoricalExport(pool, this.historicalQueue(), configId, { ...range, maxInFlight: MAX_IN_FLIGHT })
      if (created) logger.info({ pluginConfigId: configId, runId: run.id, from: run.from, to: run.to }, 'historical export enqueued by the admin API')
      return { run: (await this.get(configId, run.id))!, created }
    } catch (err) {
      if (err instanceof HistoricalRunOverlap) throw new HttpError(409, 'conflict', err.message, 'from')
      if (err instanceof HistoricalRunLimit) throw new HttpError(409, 'conflict', err.message)
      if (err instanceof HistoricalExportRefused) throw new HttpError(400, 'validation_error', err.message)
      throw err
    }
  }

  /** Newest first, a page at a time (`before`: the last id of the previous page). */
  async list(configId: number, page: HistoricalRunPage): Promise<HistoricalRunView[]> {
    const { pool, redis, queuePrefix } = this.management
    return (await listHistoricalProgress(pool, redis, queuePrefix, configId, page)).map(view)
  }

  /** The run if it is one of this config's. */
  async get(configId: number, runId: number): Promise<HistoricalRunView | null> {
    const { pool, redis, queuePrefix } = this.management
    const progress = await getHistoricalProgress(pool, redis, queuePrefix, runId)
    return progress && progress.pluginConfigId === configId ? view(progress) : null
  }

  /** 404 for a run that is not this config's, 409 for one already finished. */
  async cancel(configId: number, runId: number): Promise<HistoricalRunView> {
    if (!(await this.get(configId, runId))) throw new HttpError(404, 'not_found', `historical export run ${runId} of plugin config ${configId} not found`)
    const result = await cancelHistoricalExport(this.management.pool, runId)
    if (result.outcome === 'finished') throw new HttpError(409, 'conflict', `historical export run ${runId} is already ${result.run.status}`)
    this.management.logger.info({ pluginConfigId: configId, runId }, 'historical export cancelled by the admin API')
    return (await this.get(configId, runId))!
  }

  async close(): Promise<void> {
    await this.queue?.close()
  }

  private historicalQueue(): HistoricalQueue {
    return (this.queue ??= new HistoricalQueue(this.management.redis, this.management.queuePrefix))
  }
}
