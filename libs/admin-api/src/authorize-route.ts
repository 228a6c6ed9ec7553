import { findPluginConfigTeam } from '@plugin-server/db'
import type { ManagementContext } from '@plugin-server/management'
import { AdminPrincipal, HttpError } from './interfaces'
import { idParam } from './parse-input'
import { Route } from './routes/route'

async function configTeam(management: ManagementContext, id: number): Promise<number | null> {
  return findPluginConfigTeam(management.pool, id)
}

/**
 * Runs before the handler reads the body. A team token gets the same 403 for another team's
 * config and for a config that does not exist, so it cannot probe which ids exist elsewhere.
 */
export async function authorizeRoute(principal: AdminPrincipal, route: Route, params: Record<string, string>, management: ManagementContext): Promise<void> {
  if (principal.kind === 'operator' || route.access === 'catalogue') return
  const own = principal.teamId
  switch (route.access) {
    case 'operator':
      throw new HttpError(403, 'forbidden', `${route.method} ${route.pattern} needs the operator token (ADMIN_API_TOKEN); this token is scoped to team ${own}`)
    case 'team': {
      const teamId = idParam(params.teamId, 'team', 'teamId')
      if (teamId !== own) throw new HttpError(403, 'forbidden', `this token is scoped to team ${own} and cannot access team ${teamId}`)
      return
    }
    case 'config': {
      const id = idParam(params.id, 'plugin config', 'id')
      if ((await configTeam(management, id)) !== own)
        throw new HttpError(403, 'forbidden', `this token is scoped to team ${own}; plugin config ${id} is not one of its configs`)
      return
    }
  }
}
