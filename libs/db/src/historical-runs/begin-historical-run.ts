import type { Pool } from 'pg'
import { HISTORICAL_RUN_COLUMNS, HistoricalRunRecord, HistoricalRunRow, toHistoricalRun } from './historical-run-record'

/**
 * An exporter takes the run: the total is set once (a second exporter counting the same fixed set
 * keeps the first count), a queued run becomes running, the last error is cleared. Answers the run
 * as it is now (it may have been cancelled meanwhile).
 */
export async function beginHistoricalRun(pool: Pool, runId: number, total: number): Promise<HistoricalRunRecord | null> {
  const { rows } = await pool.query<HistoricalRunRow>(
    `UPDATE export_historical_runs
     SET total_events = coalesce(total_events, $2), started_at = coalesce(started_at, now()),
         status = CASE WHEN status = 'queued' THEN 'running' ELSE status END,
         last_error = NULL, last_error_at = NULL, updated_at = now()
     WHERE id = $1 RETURNING ${HISTORICAL_RUN_COLUMNS}`,
    [runId, total],
  )
  return rows[0] ? toHistoricalRun(rows[0]) : null
}
