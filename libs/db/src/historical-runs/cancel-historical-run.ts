import { toPostgresText } from '@plugin-server/core'
import type { Pool } from 'pg'
import { HISTORICAL_RUN_COLUMNS, HistoricalRunRecord, HistoricalRunRow, toHistoricalRun } from './historical-run-record'

/**
 * Marks a queued or running run cancelled; null when it is not (finished, already cancelled, or unknown).
 * A reason is recorded as the run's last error in the same update, so no reader sees the run cancelled without it.
 */
export async function cancelHistoricalRun(pool: Pool, runId: number, reason?: string): Promise<HistoricalRunRecord | null> {
  const { rows } = await pool.query<HistoricalRunRow>(
    `UPDATE export_historical_runs SET status = 'cancelled', cancelled_at = now(), updated_at = now(),
       last_error = coalesce($2, last_error), last_error_at = CASE WHEN $2::text IS NULL THEN last_error_at ELSE now() END
     WHERE id = $1 AND status IN ('queued', 'running') RETURNING ${HISTORICAL_RUN_COLUMNS}`,
    [runId, reason === undefined ? null : toPostgresText(reason)],
  )
  return rows[0] ? toHistoricalRun(rows[0]) : null
}
