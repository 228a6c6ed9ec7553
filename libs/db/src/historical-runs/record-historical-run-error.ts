import { toPostgresText } from '@plugin-server/core'
import type { Pool } from 'pg'

/**
 * Why the last attempt to run it stopped (its job is retried); cleared when an exporter begins it again.
 * The message may quote a plugin's: a NUL in it had Postgres refuse the update, and the error went unrecorded.
 */
export async function recordHistoricalRunError(pool: Pool, runId: number, message: string): Promise<void> {
  await pool.query('UPDATE export_historical_runs SET last_error = $2, last_error_at = now(), updated_at = now() WHERE id = $1', [
    runId,
    toPostgresText(message),
  ])
}
