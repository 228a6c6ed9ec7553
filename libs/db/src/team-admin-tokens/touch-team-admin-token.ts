import type { Pool } from 'pg'

export async function touchTeamAdminToken(pool: Pool, tokenId: number): Promise<void> {
  await pool.query('UPDATE team_admin_tokens SET last_used_at = now() WHERE id = $1', [tokenId])
}
