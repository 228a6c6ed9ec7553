import type { Pool } from 'pg'
import { readHistoricalRange } from './read-historical-range'

/** The run's total: its team's events in [from, to) stored before its snapshot bound (the ignored ones included: they count as skipped). */
export async function countHistoricalEvents(pool: Pool, runId: number): Promise<number> {
  const range = await readHistoricalRange(pool, runId)
  if (!range) return 0
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM export_historical_runs r
     JOIN events e ON e.team_id = r.team_id AND e.timestamp >= r.range_from AND e.timestamp < r.range_to AND e.created_at < r.snapshot_at
     WHERE r.id = $1 AND e.timestamp >= $2::timestamptz AND e.timestamp < $3::timestamptz`,
    [runId, range.from, range.to],
  )
  return Number(rows[0].n)
}
