import type { Pool } from 'pg'
import { TEAM_ADMIN_TOKEN_COLUMNS, TeamAdminTokenRecord } from './team-admin-token-record'

export async function insertTeamAdminToken(pool: Pool, teamId: number, name: string, tokenHash: string): Promise<TeamAdminTokenRecord> {
  const { rows } = await pool.query<TeamAdminTokenRecord>(
    `INSERT INTO team_admin_tokens (team_id, name, token_hash) VALUES ($1, $2, $3) RETURNING ${TEAM_ADMIN_TOKEN_COLUMNS}`,
    [teamId, name, tokenHash],
  )
  return rows[0]
}
