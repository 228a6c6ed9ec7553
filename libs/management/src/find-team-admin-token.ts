import { findTeamAdminTokenByHash, touchTeamAdminToken } from '@plugin-server/db'
import { ManagementContext, TeamAdminTokenLookup } from './interfaces'
import { hashTeamAdminToken } from './team-admin-token-hash'

/** last_used_at is only refreshed once a minute, so a busy token does not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000

export async function findTeamAdminToken(ctx: ManagementContext, token: string): Promise<TeamAdminTokenLookup> {
  const row = await findTeamAdminTokenByHash(ctx.pool, hashTeamAdminToken(token))
  if (!row) return { status: 'unknown' }
  if (row.revoked_at !== null) return { status: 'revoked' }
  if (row.last_used_at === null || Date.now() - row.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
    await touchTeamAdminToken(ctx.pool, row.id)
  }
  return { status: 'valid', id: row.id, teamId: row.team_id }
}
