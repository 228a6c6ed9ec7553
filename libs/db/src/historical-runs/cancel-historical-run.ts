import type { Pool } from 'pg'
import { HISTORICAL_RUN_COLUMNS, HistoricalRunRecord, HistoricalRunRow, toHistoricalRun } from './historical-run-record'

/** Marks a queued or running run cancelled; null when it is not (finished, already cancelled, or unknown). */
export async function cancelHistoricalRun(pool: Pool, runId: number): Promise<HistoricalRunRecord | null> {
  const { rows } = await pool.query<HistoricalRunRow>(
    `UPDATE export_historical_runs SET status = 'cancelled', cancelled_at = now(), updated_at = now()
     WHERE id = $1 AND status IN ('queued', 'running') RETURNING ${HISTORICAL_RUN_COLUMNS}`,
    [runId],
  )
  return rows[0] ? toHistoricalRun(rows[0]) : null
}
