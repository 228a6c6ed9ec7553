import type { Pool } from 'pg'

/** A team's stored events counted per event name, most frequent first. */
export async function countEventsByName(pool: Pool, teamId: number): Promise<{ event: string; n: number }[]> {
  const { rows } = await pool.query<{ event: string; n: number }>(
    'SELECT event, count(*)::int AS n FROM events WHERE team_id = $1 GROUP BY event ORDER BY n DESC',
    [teamId],
  )
  return rows
}
