import type { Pool } from 'pg'
import { HISTORICAL_RUN_COLUMNS, HistoricalRunRecord, HistoricalRunRow, toHistoricalRun } from './historical-run-record'

/** A config's runs, oldest first. */
export async function listHistoricalRuns(pool: Pool, configId: number): Promise<HistoricalRunRecord[]> {
  const { rows } = await pool.query<HistoricalRunRow>(`SELECT ${HISTORICAL_RUN_COLUMNS} FROM export_historical_runs WHERE plugin_config_id = $1 ORDER BY id`, [
    configId,
  ])
  return rows.map(toHistoricalRun)
}
