import type { Pool } from 'pg'
import { TEAM_ADMIN_TOKEN_COLUMNS, TeamAdminTokenRecord } from './team-admin-token-record'

/** Tokens are looked up by their sha256 only; the token itself is never stored. */
export async function findTeamAdminTokenByHash(pool: Pool, tokenHash: string): Promise<TeamAdminTokenRecord | null> {
  const { rows } = await pool.query<TeamAdminTokenRecord>(`SELECT ${TEAM_ADMIN_TOKEN_COLUMNS} FROM team_admin_tokens WHERE token_hash = $1`, [tokenHash])
  return rows[0] ?? null
}
