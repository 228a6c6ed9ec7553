import type { Pool } from 'pg'

/** A cleanup of it finished: later passes leave it alone until its grace is over. */
export async function markDeletedTeamCleaned(pool: Pool, teamId: number): Promise<void> {
  await pool.query('UPDATE deleted_teams SET cleaned_at = coalesce(cleaned_at, now()) WHERE team_id = $1', [teamId])
}

/** Its rows and Redis state are gone, and its grace is over: the record goes too. */
export async function forgetDeletedTeam(pool: Pool, teamId: number): Promise<void> {
  await pool.query('DELETE FROM deleted_teams WHERE team_id = $1', [teamId])
}
