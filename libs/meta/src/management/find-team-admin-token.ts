import { ManagementContext, TeamAdminTokenLookup } from './interfaces'
import { hashTeamAdminToken } from './team-admin-token-hash'

/** last_used_at is only refreshed once a minute, so a busy token does not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000

export async function findTeamAdminToken(ctx: ManagementContext, token: string): Promise<TeamAdminTokenLookup> {
  const { rows } = await ctx.pool.query<{ id: number; team_id: number; last_used_at: Date | null; revoked_at: Date | null }>(
    'SELECT id, team_id, last_used_at, revoked_at FROM team_admin_tokens WHERE token_hash = $1',
    [hashTeamAdminToken(token)],
  )
  const row = rows[0]
  if (!row) return { status: 'unknown' }
  if (row.revoked_at !== null) return { status: 'revoked' }
  if (row.last_used_at === null || Date.now() - row.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
    await ctx.pool.query('UPDATE team_admin_tokens SET last_used_at = now() WHERE id = $1', [row.id])
  }
  return { status: 'valid', id: row.id, teamId: row.team_id }
}
