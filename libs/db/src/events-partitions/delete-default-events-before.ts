import type { Pool } from 'pg'

/**
 * Retention for the events no daily partition holds (timestamps far in the past or future, kept in
 * events_default): they cannot be dropped with a partition, so they are deleted row by row. Returns
 * how many were deleted.
 */
export async function deleteDefaultEventsBefore(pool: Pool, cutoff: Date): Promise<number> {
  const result = await pool.query('DELETE FROM events_default WHERE timestamp < $1', [cutoff])
  return result.rowCount ?? 0
}
