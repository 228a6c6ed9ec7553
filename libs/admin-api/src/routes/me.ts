import { findTeamById } from '@plugin-server/db'
import { HttpError } from '../interfaces'
import { defineRoute } from './define-route'
import { Route } from './route'

export const meRoutes: Route[] = [
  // What the UI shows as "signed in as", and which screens it offers.
  defineRoute('GET /api/me', 'catalogue', async ({ principal, management }) => {
    if (principal.kind === 'operator') return { status: 200, body: { kind: 'operator' } }
    const team = await findTeamById(management.pool, principal.teamId)
    if (!team) throw new HttpError(401, 'unauthorized', 'the team of this admin API token no longer exists')
    return { status: 200, body: { kind: 'team', team_id: principal.teamId, team_name: team.name } }
  }),
]
