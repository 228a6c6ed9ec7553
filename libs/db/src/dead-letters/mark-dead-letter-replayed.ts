import type { Pool } from 'pg'

/** One UPDATE for the lot: a replay marks its letters a batch at a time, not one round trip each. */
export async function markDeadLettersReplayed(pool: Pool, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return
  await pool.query('UPDATE export_dead_letters SET replayed_at = now() WHERE id = ANY($1::bigint[])', [ids])
}
