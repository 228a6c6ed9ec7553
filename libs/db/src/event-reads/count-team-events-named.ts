import type { Pool } from 'pg'

/** How many of a team's stored events are called `event` (or, with `except`, are not). */
export async function countTeamEventsNamed(pool: Pool, teamId: number, event: string, options: { except?: boolean } = {}): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events WHERE team_id = $1 AND ${options.except === true ? 'event <> $2' : 'event = $2'}`,
    [teamId, event],
  )
  return rows[0].n
}
