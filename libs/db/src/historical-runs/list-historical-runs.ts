import type { Pool } from 'pg'
import { HISTORICAL_RUN_COLUMNS, HistoricalRunRecord, HistoricalRunRow, toHistoricalRun } from './historical-run-record'

/** One page of a config's runs: the newest `limit` of those with an id below `before` (all when absent). */
export interface HistoricalRunPage {
  limit: number
  before?: number
}

/** A config's runs, newest first, one page at a time: finished runs stay, so the list only grows. */
export async function listHistoricalRuns(pool: Pool, configId: number, page: HistoricalRunPage): Promise<HistoricalRunRecord[]> {
  const { rows } = await pool.query<HistoricalRunRow>(
    `SELECT ${HISTORICAL_RUN_COLUMNS} FROM export_historical_runs
     WHERE plugin_config_id = $1 AND ($2::int IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [configId, page.before ?? null, page.limit],
  )
  return rows.map(toHistoricalRun)
}
