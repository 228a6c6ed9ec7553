import type { Pool } from 'pg'
import { HISTORICAL_RUN_COLUMNS, HistoricalRunRecord, HistoricalRunRow, toHistoricalRun } from './historical-run-record'

export async function getHistoricalRun(pool: Pool, runId: number): Promise<HistoricalRunRecord | null> {
  const { rows } = await pool.query<HistoricalRunRow>(`SELECT ${HISTORICAL_RUN_COLUMNS} FROM export_historical_runs WHERE id = $1`, [runId])
  return rows[0] ? toHistoricalRun(rows[0]) : null
}
