import type { Pool } from 'pg'

/** The database's clock: the one every replica reads the same, whatever its own pod's clock says. */
export async function databaseNow(pool: Pool): Promise<Date> {
  const { rows } = await pool.query<{ now: Date }>('SELECT clock_timestamp() AS now')
  return rows[0].now
}
