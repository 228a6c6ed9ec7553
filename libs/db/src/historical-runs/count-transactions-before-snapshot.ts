import type { Pool } from 'pg'

/**
 * Transactions of this database that began before the run's snapshot bound and are still open. An
 * event row's created_at is its transaction's start, so until these end, rows "stored before the
 * bound" may still appear; the run is counted once this is 0. Sessions of other database users
 * are only seen with pg_read_all_stats.
 */
export async function countTransactionsBeforeSnapshot(pool: Pool, runId: number): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity a, export_historical_runs r
     WHERE r.id = $1 AND a.datname = current_database() AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
       AND a.xact_start IS NOT NULL AND a.xact_start < r.snapshot_at`,
    [runId],
  )
  return Number(rows[0].n)
}
