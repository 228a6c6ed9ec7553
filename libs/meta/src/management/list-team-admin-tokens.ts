import { assertTeamExists } from './db-helpers'
import { ManagementContext, TeamAdminTokenView } from './interfaces'
import { TEAM_ADMIN_TOKEN_COLUMNS } from './team-admin-token-hash'

/** Revoked tokens are listed too, so an operator can see when each one stopped working. */
export async function listTeamAdminTokens(ctx: ManagementContext, teamId: number): Promise<TeamAdminTokenView[]> {
  await assertTeamExists(ctx.pool, teamId)
  const { rows } = await ctx.pool.query<TeamAdminTokenView>(`SELECT ${TEAM_ADMIN_TOKEN_COLUMNS} FROM team_admin_tokens WHERE team_id = $1 ORDER BY id`, [
    teamId,
  ])
  return rows
}
