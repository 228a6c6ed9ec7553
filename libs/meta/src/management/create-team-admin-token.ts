import { assertTeamExists } from './db-helpers'
import { CreatedTeamAdminToken, ManagementContext, ManagementError, TeamAdminTokenView } from './interfaces'
import { generateTeamAdminToken, hashTeamAdminToken, TEAM_ADMIN_TOKEN_COLUMNS } from './team-admin-token-hash'

/** Returns the token this once; only its hash is stored, so it cannot be shown again. */
export async function createTeamAdminToken(ctx: ManagementContext, teamId: number, name = ''): Promise<CreatedTeamAdminToken> {
  if (name.length > 200) throw new ManagementError('validation_error', 'name must be at most 200 characters', 'name')
  await assertTeamExists(ctx.pool, teamId)
  const token = generateTeamAdminToken()
  const { rows } = await ctx.pool.query<TeamAdminTokenView>(
    `INSERT INTO team_admin_tokens (team_id, name, token_hash) VALUES ($1, $2, $3) RETURNING ${TEAM_ADMIN_TOKEN_COLUMNS}`,
    [teamId, name, hashTeamAdminToken(token)],
  )
  ctx.logger.info({ teamId, tokenId: rows[0].id }, 'team admin token created')
  return { ...rows[0], token }
}
