import { listTeamAdminTokenRecords } from '@plugin-server/db'
import { assertTeamExists } from './db-helpers'
import { ManagementContext, TeamAdminTokenView } from './interfaces'

/** Revoked tokens are listed too, so an operator can see when each one stopped working. */
export async function listTeamAdminTokens(ctx: ManagementContext, teamId: number): Promise<TeamAdminTokenView[]> {
  await assertTeamExists(ctx.pool, teamId)
  return listTeamAdminTokenRecords(ctx.pool, teamId)
}
