import type { Pool } from 'pg'
import { TEAM_ADMIN_TOKEN_COLUMNS, TeamAdminTokenRecord } from './team-admin-token-record'

/** Revoked tokens included, oldest first. */
export async function listTeamAdminTokenRecords(pool: Pool, teamId: number): Promise<TeamAdminTokenRecord[]> {
  const { rows } = await pool.query<TeamAdminTokenRecord>(`SELECT ${TEAM_ADMIN_TOKEN_COLUMNS} FROM team_admin_tokens WHERE team_id = $1 ORDER BY id`, [teamId])
  return rows
}
