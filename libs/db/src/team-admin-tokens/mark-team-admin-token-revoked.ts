import type { Pool } from 'pg'
import { TEAM_ADMIN_TOKEN_COLUMNS, TeamAdminTokenRecord } from './team-admin-token-record'

/** Idempotent: revoking again keeps the first revocation time. Null when there is no such token. */
export async function markTeamAdminTokenRevoked(pool: Pool, tokenId: number): Promise<TeamAdminTokenRecord | null> {
  const { rows } = await pool.query<TeamAdminTokenRecord>(
    `UPDATE team_admin_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING ${TEAM_ADMIN_TOKEN_COLUMNS}`,
    [tokenId],
  )
  return rows[0] ?? null
}
