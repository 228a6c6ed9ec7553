import type { Pool } from 'pg'

export async function countDeadLetters(pool: Pool, configId: number): Promise<{ pending: number; pendingEvents: number; replayed: number }> {
  const { rows } = await pool.query<{ pending: string; pending_events: string; replayed: string }>(
    `SELECT count(*) FILTER (WHERE replayed_at IS NULL) AS pending,
            coalesce(sum(event_count) FILTER (WHERE replayed_at IS NULL), 0) AS pending_events,
            count(*) FILTER (WHERE replayed_at IS NOT NULL) AS replayed
     FROM export_dead_letters WHERE plugin_config_id = $1`,
    [configId],
  )
  return { pending: Number(rows[0].pending), pendingEvents: Number(rows[0].pending_events), replayed: Number(rows[0].replayed) }
}
