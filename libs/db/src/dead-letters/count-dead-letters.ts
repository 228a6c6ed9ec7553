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

/** The config's dead letters not replayed yet, created at or after `since` when given. */
export async function countPendingDeadLetters(pool: Pool, configId: number, since: Date | null): Promise<number> {
  const { rows } = await pool.query<{ pending: string }>(
    `SELECT count(*) AS pending FROM export_dead_letters
     WHERE plugin_config_id = $1 AND replayed_at IS NULL AND ($2::timestamptz IS NULL OR created_at >= $2)`,
    [configId, since],
  )
  return Number(rows[0].pending)
}

/**
 * Every team's dead letters not replayed yet, and their events: teams without any are left out. One
 * GROUP BY over the pending rows (migration 0013's partial index keeps them apart from the replayed).
 */
export async function countPendingDeadLettersByTeam(pool: Pool): Promise<{ teamId: number; letters: number; events: number }[]> {
  const { rows } = await pool.query<{ team_id: number; letters: string; events: string }>(
    `SELECT team_id, count(*) AS letters, coalesce(sum(event_count), 0) AS events
     FROM export_dead_letters WHERE replayed_at IS NULL GROUP BY team_id`,
  )
  return rows.map((r) => ({ teamId: r.team_id, letters: Number(r.letters), events: Number(r.events) }))
}
