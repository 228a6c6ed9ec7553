import { ManagementContext, ManagementError, TeamAdminTokenView } from './interfaces'
import { TEAM_ADMIN_TOKEN_COLUMNS } from './team-admin-token-hash'

/** Idempotent: revoking again keeps the first revocation time. Takes effect on the next request. */
export async function revokeTeamAdminToken(ctx: ManagementContext, tokenId: number): Promise<TeamAdminTokenView> {
  const { rows } = await ctx.pool.query<TeamAdminTokenView>(
    `UPDATE team_admin_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING ${TEAM_ADMIN_TOKEN_COLUMNS}`,
    [tokenId],
  )
  if (!rows[0]) throw new ManagementError('not_found', `team admin token ${tokenId} not found`)
  ctx.logger.info({ teamId: rows[0].team_id, tokenId }, 'team admin token revoked')
  return rows[0]
}
