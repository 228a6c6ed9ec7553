import type { Pool } from 'pg'
import { HISTORICAL_RUN_COLUMNS, HistoricalRunRecord, HistoricalRunRow, toHistoricalRun } from './historical-run-record'

/** The run ended: a running one is done, a cancelled one stays cancelled; both keep their final counts. */
export async function finishHistoricalRun(pool: Pool, runId: number, counts: { exported: number; failed: number }): Promise<HistoricalRunRecord | null> {
  const { rows } = await pool.query<HistoricalRunRow>(
    `UPDATE export_historical_runs
     SET status = CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'done' END, exported_events = $2, failed_events = $3,
         finished_at = coalesce(finished_at, now()), updated_at = now()
     WHERE id = $1 AND status IN ('queued', 'running', 'cancelled') AND finished_at IS NULL
     RETURNING ${HISTORICAL_RUN_COLUMNS}`,
    [runId, counts.exported, counts.failed],
  )
  return rows[0] ? toHistoricalRun(rows[0]) : null
}
