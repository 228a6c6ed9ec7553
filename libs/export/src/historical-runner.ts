import type { Job } from 'bullmq'
import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { Logger, postpone, SlotCounts } from '@plugin-server/core'
import {
  advanceHistoricalCursor,
  beginHistoricalRun,
  cancelHistoricalRun,
  countHistoricalEvents,
  countTransactionsBeforeSnapshot,
  finishHistoricalRun,
  getConfigValues,
  getHistoricalRun,
  getHistoricalRunStatus,
  HistoricalEventRow,
  HistoricalRunStatus,
  readHistoricalPage,
  recordHistoricalRunError,
  setHistoricalPendingEnd,
} from '@plugin-server/db'
import { exportEventsToIgnore, toProcessedEvent } from '@plugin-server/plugin-runtime'
import type { DeliveryQueue } from './delivery-queue'
import type { ProcessedPluginEvent } from './interfaces'
import { methodReceives } from './method-receives'
import { historicalPagesDone, markHistoricalPageDone, readHistoricalCounts, unfinishedHistoricalPages } from './historical-pages'
import type { HistoricalJobData } from './historical-queue'

export interface HistoricalRunnerDeps {
  pool: Pool
  redis: Redis
  queuePrefix: string
  deliveries: DeliveryQueue
  logger: Logger
  /** How often a waiting run checks whether its pages are done. */
  pollMs?: number
  /** Longest wait for transactions older than the snapshot bound before counting (they are normally milliseconds long). */
  settleTimeoutMs?: number
  /** Longest wait, after a cancel, for the pages being delivered at that moment. */
  cancelDrainMs?: number
  /** Runs of one team this exporter drives at once; a run past it waits in the queue, holding no slot. */
  teamShare?: number
}

/** How soon a run put back because its team was at its share is looked at again. */
const TEAM_AT_SHARE_DELAY_MS = 2000

/** This exporter is shutting down: the run goes back to the queue for another one (or this one, restarted). */
class Stopping extends Error {}

/** Another driver moved the run past the page this one handed over (this one lost its lock): it stops. */
class TakenOver extends Error {}

type Cursor = { timestamp: string; uuid: string }

/**
 * Drives one historical run (its job `hr-<run>`): counts the run's fixed set of events, then hands
 * them to the deliveries queue page by page (`h-<run>-<page>`), at most `max_in_flight` pages
 * ahead of the exporters, and checkpoints the cursor in Postgres after each page. An exporter that
 * dies loses the job's lock and another exporter (or the restarted one) takes the job over from the
 * last checkpoint; the page that was being handed over is handed over again under the same job id,
 * so events are exported at least once and none is skipped. A cancelled run stops before its next page.
 */
export class HistoricalRunner {
  private readonly stopping = new AbortController()
  private readonly pollMs: number
  private readonly teamSlots = new SlotCounts<number>()

  constructor(private readonly deps: HistoricalRunnerDeps) {
    this.pollMs = deps.pollMs ?? 50
  }

  readonly process = async (job: Job<HistoricalJobData>, token?: string): Promise<string> => {
    const { runId } = job.data
    // One team queueing many long runs would otherwise hold every slot, in order, ahead of the others.
    const stored = await getHistoricalRun(this.deps.pool, runId)
    if (!stored) return 'already finished'
    const { teamId } = stored
    // A cancelled run only wraps up, which should not wait for its team's other runs.
    if (stored.status !== 'cancelled' && this.teamSlots.held(teamId) >= (this.deps.teamShare ?? Infinity)) return postpone(job, TEAM_AT_SHARE_DELAY_MS, token)
    try {
      return await this.teamSlots.within(teamId, () => this.drive(runId))
    } catch (err) {
      if (err instanceof Stopping) return postpone(job, 0, token)
      if (err instanceof TakenOver) return 'taken over by another exporter'
      const message = (err as Error).message
      this.deps.logger.error({ runId, err: message }, 'historical export run stopped by an error; its job is retried')
      await recordHistoricalRunError(this.deps.pool, runId, message).catch(() => undefined)
      throw err
    }
  }

  /** Drivers stop at their next page or poll and hand their runs back to the queue. */
  stop(): void {
    this.stopping.abort()
  }

  private async drive(runId: number): Promise<string> {
    const { pool, redis, queuePrefix, deliveries, logger } = this.deps
    let run = await getHistoricalRun(pool, runId)
    // A deleted config takes its runs with it.
    if (!run || run.finishedAt !== null) return 'already finished'
    // Cancelled before any exporter started it: nothing to count or export.
    if (run.status === 'cancelled' && run.totalEvents === null)
      return (await finishHistoricalRun(pool, runId, { exported: 0, failed: 0 }))?.status ?? 'already finished'
    if (run.totalEvents === null) await this.settle(runId)
    run = await beginHistoricalRun(pool, runId, run.totalEvents ?? (await countHistoricalEvents(pool, runId)))
    if (!run) return 'already finished'
    const values = await getConfigValues(pool, run.pluginConfigId)
    if (!values) return 'config deleted'
    const ignored = exportEventsToIgnore(values.config)
    const log = logger.child({ runId, pluginConfigId: run.pluginConfigId })
    log.info(
      { total: run.totalEvents, nextPage: run.nextSeq, enqueued: run.enqueuedEvents, status: run.status },
      'historical export run taken by this exporter',
    )
    const { teamId, pluginConfigId, batchSize, maxInFlight } = run
    let status: HistoricalRunStatus = run.status
    let seq = run.nextSeq
    let cursor: Cursor | null = run.cursor

    const page = (until: Cursor | null) => readHistoricalPage(pool, { runId, after: cursor, until, limit: batchSize })
    const handOver = async (rows: HistoricalEventRow[]) => {
      const end = { timestamp: rows[rows.length - 1].ts_key, uuid: rows[rows.length - 1].uuid }
      await setHistoricalPendingEnd(pool, runId, end)
      const kept = rows.filter((r) => methodReceives('exportEvents', r.event) && !ignored.has(r.event))
      const exportedAt = new Date().toISOString()
      if (kept.length > 0) {
        await deliveries.add([
          {
            jobId: `h-${runId}-${seq}`,
            data: {
              configId: pluginConfigId,
              teamId,
              method: 'exportEvents',
              events: kept.map((r) => historicalEvent(r, exportedAt)),
              source: { type: 'historical', runId, seq, events: kept.length },
              attempts: [],
            },
          },
        ])
      } else await markHistoricalPageDone(redis, queuePrefix, runId, seq, { exported: 0, failed: 0 })
      const next = await advanceHistoricalCursor(pool, runId, { seq, end, enqueued: kept.length, skipped: rows.length - kept.length })
      if (next === null) throw new TakenOver()
      status = next
      cursor = end
      seq++
    }
    const pagesDone = () => historicalPagesDone(redis, queuePrefix, runId)
    // Polls are frequent (a page is handed over as soon as one is done); the status is read at most twice a second.
    let refreshed = 0
    const refresh = async () => {
      if (Date.now() - refreshed < 500) return
      refreshed = Date.now()
      const [current, config] = await Promise.all([getHistoricalRunStatus(pool, runId), getConfigValues(pool, pluginConfigId)])
      status = current ?? 'cancelled'
      // Every page handed over once the config is off would only become a dead letter ("not enabled").
      if (status === 'running' && !config?.enabled) {
        const reason = config ? 'config disabled' : 'config deleted'
        await cancelHistoricalRun(pool, runId, reason)
        log.info({ reason }, 'historical export run cancelled')
        status = 'cancelled'
      }
    }

    // The page being handed over when the last driver stopped: exactly that page again.
    if (run.pendingEnd && status === 'running') {
      const rows = await page(run.pendingEnd)
      if (rows.length > 0) await handOver(rows)
    }
    while (status === 'running') {
      if (this.stopping.signal.aborted) throw new Stopping()
      while (seq - (await pagesDone()) >= maxInFlight && status === 'running') {
        await this.pause()
        await refresh()
      }
      await refresh()
      if (status !== 'running') break
      const rows = await page(null)
      if (rows.length === 0) break
      await handOver(rows)
    }
    // The last pages: wait for the exporters. Once cancelled, its pages waiting for a retry are made
    // to run now (and dropped) every second, and the wait is bounded.
    const drainMs = this.deps.cancelDrainMs ?? 30_000
    let drainUntil = Infinity
    let dropped = 0
    for (;;) {
      if (status === 'cancelled') {
        if (drainUntil === Infinity) drainUntil = Date.now() + drainMs
        if (Date.now() - dropped >= 1000) {
          dropped = Date.now()
          await this.dropWaitingPages(runId, seq)
        }
      }
      if ((await pagesDone()) >= seq || Date.now() >= drainUntil) break
      await this.pause()
      await refresh()
    }
    const [counts] = await readHistoricalCounts(redis, queuePrefix, [runId])
    const finished = await finishHistoricalRun(pool, runId, counts ?? { exported: 0, failed: 0 })
    log.info(
      { status: finished?.status, exported: finished?.exportedEvents, failed: finished?.failedEvents, skipped: finished?.skippedEvents },
      'historical export run finished',
    )
    return finished?.status ?? 'already finished'
  }

  /** Pages of a cancelled run waiting for a retry run now, so the exporters drop them instead of holding them until their retry time. */
  private async dropWaitingPages(runId: number, handedOver: number): Promise<void> {
    const { redis, queuePrefix, deliveries } = this.deps
    for (const seq of await unfinishedHistoricalPages(redis, queuePrefix, runId, handedOver)) {
      const job = await deliveries.queue.getJob(`h-${runId}-${seq}`)
      if (job && (await job.isDelayed())) await job.promote().catch(() => undefined)
    }
  }

  /** Waits (bounded) until no transaction that began before the snapshot bound is open, so the set counted is the set exported. */
  private async settle(runId: number): Promise<void> {
    const deadline = Date.now() + (this.deps.settleTimeoutMs ?? 10_000)
    while ((await countTransactionsBeforeSnapshot(this.deps.pool, runId)) > 0) {
      if (Date.now() > deadline) {
        this.deps.logger.warn({ runId }, 'transactions older than the historical run are still open; counting it anyway')
        return
      }
      await this.pause(50)
    }
  }

  private async pause(ms = this.pollMs): Promise<void> {
    if (this.stopping.signal.aborted) throw new Stopping()
    await new Promise((resolve) => setTimeout(resolve, ms))
    if (this.stopping.signal.aborted) throw new Stopping()
  }
}

/**
 * A stored event as a historical run hands it to exportEvents: marked as PostHog marked every
 * historically exported event, so a plugin (or the warehouse) tells re-exports from live ones
 * (PostHog's Migrator 3000 exports only events that carry `$$is_historical_export_event`).
 */
function historicalEvent(row: HistoricalEventRow, exportedAt: string): ProcessedPluginEvent {
  const event = toProcessedEvent(row)
  event.properties = {
    ...event.properties,
    $$is_historical_export_event: true,
    $$historical_export_timestamp: exportedAt,
    $$historical_export_source_db: 'postgres',
  }
  return event
}
