import type { Pool } from 'pg'

export async function markDeadLetterReplayed(pool: Pool, id: number): Promise<void> {
  await pool.query('UPDATE export_dead_letters SET replayed_at = now() WHERE id = $1', [id])
}
