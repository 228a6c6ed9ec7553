import type { Pool } from 'pg'

/** The page ending here is being handed over: a driver taking the run over after a crash hands over exactly this page again. */
export async function setHistoricalPendingEnd(pool: Pool, runId: number, end: { timestamp: string; uuid: string }): Promise<void> {
  await pool.query('UPDATE export_historical_runs SET pending_end_timestamp = $2, pending_end_uuid = $3, updated_at = now() WHERE id = $1', [
    runId,
    end.timestamp,
    end.uuid,
  ])
}
