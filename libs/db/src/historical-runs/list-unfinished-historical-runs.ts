import type { Pool } from 'pg'

/** Ids of runs not finished yet (queued, running, or cancelled and not wrapped up): each must have its exporter job. */
export async function listUnfinishedHistoricalRuns(pool: Pool): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>(
    `SELECT id FROM export_historical_runs WHERE status IN ('queued', 'running') OR (status = 'cancelled' AND finished_at IS NULL) ORDER BY id`,
  )
  return rows.map((r) => r.id)
}
