import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { configExportOptions } from './config-export-options'
import type { DeliveryQueue } from './delivery-queue'
import { advanceCursor, finishHistoricalRun, openHistoricalRun, setPendingEnd } from './historical-runs'
import type { ExportSettings, HistoricalProgress, HistoricalRun, ProcessedPluginEvent } from './interfaces'
import { exportKeys } from './keys'
import { toProcessedEvent } from '@plugin-server/meta'

export interface HistoricalExportOptions {
  from: Date
  to: Date
  batchSize: number
  /** Batches handed to the exporters and not finished yet, at most: the run follows the exporters' pace. */
  maxInFlight: number
  settings: ExportSettings
  onStart?: (run: HistoricalRun, resumed: boolean) => void
  onProgress?: (progress: HistoricalProgress) => void
  pollMs?: number
  /** Stops the run between pages (it rejects with the abort reason); run again to resume. */
  signal?: AbortSignal
}

interface EventRow {
  uuid: string
  team_id: number
  event: string
  distinct_id: string
  properties: Record<string, unknown>
  timestamp: Date
  ip: string | null
  ts_key: string
}

/**
 * Streams a config's stored events in [from, to) through its exportEvents, in pages read in
 * (timestamp, uuid) order, each page one delivery job run by the exporters (same retries, metrics
 * and dead letters as live batches). The run's cursor is in Postgres: run again with the same
 * arguments after a crash and it goes on from the last page handed over; that page's job id is
 * fixed (`h-<run>-<page>`), so a page handed over just before the crash is not exported twice.
 * Resolves when every page has been delivered or kept as a dead letter.
 */
export async function runHistoricalExport(
  pool: Pool,
  redis: Redis,
  prefix: string,
  deliveries: DeliveryQueue,
  configId: number,
  options: HistoricalExportOptions,
): Promise<HistoricalProgress> {
  const {
    rows: [config],
  } = await pool.query<{ team_id: number; config: Record<string, unknown> }>('SELECT team_id, config FROM plugin_configs WHERE id = $1', [configId])
  if (!config) throw new Error(`plugin config ${configId} not found`)
  const ignored = [...configExportOptions(config.config, options.settings).ignoredEvents]
  const { run, resumed } = await openHistoricalRun(pool, configId, config.team_id, options.from, options.to, options.batchSize, ignored)
  options.onStart?.(run, resumed)
  const keys = exportKeys(prefix)
  const started = Date.now()
  const doneAtStart = await done()
  let enqueued = run.enqueuedEvents
  let seq = run.nextSeq
  let cursor = run.cursor
  const progress = async (): Promise<HistoricalProgress> => {
    const finished = await done()
    const rate = (finished - doneAtStart) / Math.max(0.001, (Date.now() - started) / 1000)
    const p = {
      runId: run.id,
      total: run.totalEvents,
      enqueued,
      done: finished,
      rate,
      etaSeconds: rate > 0 ? Math.max(0, run.totalEvents - finished) / rate : null,
    }
    options.onProgress?.(p)
    return p
  }
  const pause = async () => {
    await new Promise((r) => setTimeout(r, options.pollMs ?? 500))
    options.signal?.throwIfAborted()
  }

  async function done(): Promise<number> {
    return Number((await redis.get(keys.historicalEvents(run.id))) ?? 0)
  }
  // Pages are counted for flow control and completion: a page's event count may differ between two
  // reads of it (late events), its number never does.
  const pagesDone = () => redis.scard(keys.historicalDone(run.id))

  const page = async (until: { timestamp: string; uuid: string } | null): Promise<EventRow[]> => {
    const { rows } = await pool.query<EventRow>(
      `SELECT uuid::text, team_id, event, distinct_id, properties, timestamp, ip, timestamp::text AS ts_key
       FROM events
       WHERE team_id = $1 AND timestamp >= $2 AND timestamp < $3 AND NOT (event = ANY($4::text[]))
         AND ($5::timestamptz IS NULL OR (timestamp, uuid) > ($5::timestamptz, $6::uuid))
         AND ($7::timestamptz IS NULL OR (timestamp, uuid) <= ($7::timestamptz, $8::uuid))
       ORDER BY timestamp, uuid
       LIMIT $9`,
      [
        run.teamId,
        options.from,
        options.to,
        ignored,
        cursor?.timestamp ?? null,
        cursor?.uuid ?? null,
        until?.timestamp ?? null,
        until?.uuid ?? null,
        until ? 2147483647 : run.batchSize,
      ],
    )
    return rows
  }

  const handOver = async (rows: EventRow[]) => {
    const end = { timestamp: rows[rows.length - 1].ts_key, uuid: rows[rows.length - 1].uuid }
    await setPendingEnd(pool, run.id, end)
    const events: ProcessedPluginEvent[] = rows.map((r) => toProcessedEvent(r))
    await deliveries.add([
      {
        jobId: `h-${run.id}-${seq}`,
        data: { configId, teamId: run.teamId, method: 'exportEvents', events, source: { type: 'historical', runId: run.id, seq }, attempts: [] },
      },
    ])
    await advanceCursor(pool, run.id, end, rows.length)
    cursor = end
    seq++
    enqueued += rows.length
  }

  // A page handed over when the last run stopped: exactly that page again (it may have gained late events).
  if (run.pendingEnd) {
    const rows = await page(run.pendingEnd)
    if (rows.length > 0) await handOver(rows)
  }
  for (;;) {
    options.signal?.throwIfAborted()
    while (seq - (await pagesDone()) >= options.maxInFlight) {
      await progress()
      await pause()
    }
    const rows = await page(null)
    if (rows.length === 0) break
    await handOver(rows)
    await progress()
  }
  while ((await pagesDone()) < seq) {
    await progress()
    await pause()
  }
  await finishHistoricalRun(pool, run.id)
  return progress()
}
