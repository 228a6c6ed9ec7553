import { markTeamAdminTokenRevoked } from '@plugin-server/db'
import { ManagementContext, ManagementError, TeamAdminTokenView } from './interfaces'

/** Idempotent: revoking again keeps the first revocation time. Takes effect on the next request. */
export async function revokeTeamAdminToken(ctx: ManagementContext, tokenId: number): Promise<TeamAdminTokenView> {
  const row = await markTeamAdminTokenRevoked(ctx.pool, tokenId)
  if (!row) throw new ManagementError('not_found', `team admin token ${tokenId} not found`)
  ctx.logger.info({ teamId: row.team_id, tokenId }, 'team admin token revoked')
  return row
}
