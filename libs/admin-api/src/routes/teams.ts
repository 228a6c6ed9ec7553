import { newTeamTokenProblem } from '@plugin-server/core'
import { createTeam, findTeamById, listTeams, POSTGRES_INT_MAX, setTeamAnonymizeIps, Team } from '@plugin-server/db'
import { deleteTeam, teamUsage } from '@plugin-server/management'
import { HttpError } from '../interfaces'
import { readJsonObject } from '../http-io'
import { keysetPage } from '../keyset-page'
import { idParam, intQueryParam, optionalBool, optionalString } from '../parse-input'
import { defineRoute } from './define-route'
import { Route } from './route'

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505'
}

/** About 100 bytes a team: the default page (100 KB) holds every team of most installs, the largest 0.5 MB. */
const DEFAULT_TEAMS_PAGE = 1000
const MAX_TEAMS_PAGE = 5000

function settingsOf(teamId: number, team: Team | null): { id: number; name: string; anonymize_ips: boolean } {
  if (!team) throw new HttpError(404, 'not_found', `team ${teamId} not found`)
  return { id: team.id, name: team.name, anonymize_ips: team.anonymize_ips }
}

export const teamRoutes: Route[] = [
  defineRoute('GET /api/teams', 'operator', async ({ req, query, management }) => {
    const limit = intQueryParam(query, 'limit', DEFAULT_TEAMS_PAGE, 1, MAX_TEAMS_PAGE)
    const after = intQueryParam(query, 'after', 0, 0, POSTGRES_INT_MAX)
    const rows = await listTeams(management.pool, after, limit + 1)
    return { status: 200, ...keysetPage(req, query, rows, limit, (team) => String(team.id)) }
  }),
  defineRoute('POST /api/teams', 'operator', async ({ req, management, maxBodyBytes, bodyHold }) => {
    const body = await readJsonObject(req, maxBodyBytes, bodyHold)
    const name = optionalString(body, 'name')
    if (name === undefined || name.trim() === '') throw new HttpError(400, 'validation_error', 'name is required', 'name')
    const token = optionalString(body, 'api_token')
    const tokenProblem = token === undefined ? null : newTeamTokenProblem(token)
    if (tokenProblem) throw new HttpError(400, 'validation_error', `api_token ${tokenProblem}`, 'api_token')
    const anonymizeIps = optionalBool(body, 'anonymize_ips')
    try {
      return { status: 201, body: await createTeam(management.pool, name, token, { anonymizeIps }) }
    } catch (err) {
      if (isUniqueViolation(err)) throw new HttpError(409, 'conflict', 'a team with this api_token already exists', 'api_token')
      throw err
    }
  }),
  // ?force=true also deletes its configs and stored events; without it, 409 saying what it has.
  defineRoute('DELETE /api/teams/:teamId', 'operator', async ({ params, query, management }) => {
    const force = query.get('force')
    if (force !== null && force !== 'true' && force !== 'false') throw new HttpError(400, 'validation_error', 'force must be true or false', 'force')
    return {
      status: 200,
      body: await deleteTeam(management, idParam(params.teamId, 'team', 'teamId'), { force: force === 'true', forceHint: 'add ?force=true' }),
    }
  }),
  defineRoute('GET /api/teams/:teamId', 'team', async ({ params, management }) => {
    const teamId = idParam(params.teamId, 'team', 'teamId')
    return { status: 200, body: settingsOf(teamId, await findTeamById(management.pool, teamId)) }
  }),
  // Only the team's own settings: its name and token are the operator's (POST /api/teams).
  defineRoute('PATCH /api/teams/:teamId', 'team', async ({ req, params, management, maxBodyBytes, bodyHold }) => {
    const teamId = idParam(params.teamId, 'team', 'teamId')
    const body = await readJsonObject(req, maxBodyBytes, bodyHold)
    const other = Object.keys(body).find((key) => key !== 'anonymize_ips')
    if (other !== undefined) throw new HttpError(400, 'validation_error', `${other} cannot be changed here: only anonymize_ips`, other)
    if (body.anonymize_ips === null) throw new HttpError(400, 'validation_error', 'anonymize_ips must be true or false', 'anonymize_ips')
    const anonymizeIps = optionalBool(body, 'anonymize_ips')
    const team = anonymizeIps === undefined ? await findTeamById(management.pool, teamId) : await setTeamAnonymizeIps(management.pool, teamId, anonymizeIps)
    return { status: 200, body: settingsOf(teamId, team) }
  }),
  defineRoute('GET /api/teams/:teamId/usage', 'team', async ({ params, management, services }) => ({
    status: 200,
    body: await teamUsage(management, idParam(params.teamId, 'team', 'teamId'), services.limits),
  })),
]
