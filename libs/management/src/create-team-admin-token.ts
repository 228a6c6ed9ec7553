import { insertTeamAdminToken } from '@plugin-server/db'
import { assertTeamExists } from './db-helpers'
import { CreatedTeamAdminToken, ManagementContext, ManagementError } from './interfaces'
import { generateTeamAdminToken, hashTeamAdminToken } from './team-admin-token-hash'

/** Returns the token this once; only its hash is stored, so it cannot be shown again. */
export async function createTeamAdminToken(ctx: ManagementContext, teamId: number, name = ''): Promise<CreatedTeamAdminToken> {
  if (name.length > 200) throw new ManagementError('validation_error', 'name must be at most 200 characters', 'name')
  await assertTeamExists(ctx.pool, teamId)
  const token = generateTeamAdminToken()
  const row = await insertTeamAdminToken(ctx.pool, teamId, name, hashTeamAdminToken(token))
  ctx.logger.info({ teamId, tokenId: row.id }, 'team admin token created')
  return { ...row, token }
}
