import type { Pool } from 'pg'
import type { HistoricalRunStatus } from './historical-run-record'

/** Only the status: what an exporter checks before each page of a run it delivers (a cancelled run's pages are dropped). */
export async function getHistoricalRunStatus(pool: Pool, runId: number): Promise<HistoricalRunStatus | null> {
  const { rows } = await pool.query<{ status: HistoricalRunStatus }>('SELECT status FROM export_historical_runs WHERE id = $1', [runId])
  return rows[0]?.status ?? null
}
