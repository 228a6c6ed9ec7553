import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { findTeamAdminToken, ManagementContext, TEAM_ADMIN_TOKEN_PREFIX } from '@plugin-server/management'
import { AdminPrincipal, HttpError } from './interfaces'

const CHALLENGE = { 'WWW-Authenticate': 'Bearer' }
/**
 * Team token lookups (a Postgres query each) in flight at once per process. Anyone can send a made-up
 * `pst_` token, no login needed, and each one was a query on the pool capture shares: past this,
 * a request is answered 503 at once instead of queuing for a connection. Requests with one token
 * share its lookup in flight (a page of the UI asks several things at once), so they count once.
 */
export const MAX_TOKEN_LOOKUPS = 4
/** The lookups in flight, by the token's sha256. */
const lookups = new Map<string, ReturnType<typeof findTeamAdminToken>>()

function lookUp(management: ManagementContext, token: string): ReturnType<typeof findTeamAdminToken> {
  const key = createHash('sha256').update(token).digest('hex')
  const shared = lookups.get(key)
  if (shared !== undefined) return shared
  if (lookups.size >= MAX_TOKEN_LOOKUPS) {
    throw new HttpError(503, 'unavailable', `${MAX_TOKEN_LOOKUPS} admin API tokens are being looked up already: retry later`, undefined, {
      'Retry-After': '1',
    })
  }
  const lookup = findTeamAdminToken(management, token).finally(() => lookups.delete(key))
  lookups.set(key, lookup)
  return lookup
}

/** Digests first, so the comparison takes the same time whatever the length of the guess. */
function sameToken(given: string, token: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(token).digest())
}

/**
 * The operator token is compared in constant time; a team token is looked up by its sha256, so
 * the database never holds, and a timing difference never reveals, a usable token.
 */
export async function authenticate(
  req: IncomingMessage,
  operatorToken: string | null,
  teamTokens: boolean,
  management: ManagementContext,
): Promise<AdminPrincipal> {
  if (operatorToken === null && !teamTokens)
    throw new HttpError(503, 'admin_api_disabled', 'admin API disabled: set ADMIN_API_TOKEN (or ADMIN_API_TEAM_TOKENS=true)')
  const header = req.headers.authorization
  if (!header) throw new HttpError(401, 'unauthorized', 'missing Authorization: Bearer <admin API token> header', undefined, CHALLENGE)
  const given = /^Bearer\s+(.+)$/i.exec(header)?.[1].trim()
  if (given === undefined) throw new HttpError(401, 'unauthorized', 'invalid admin API token', undefined, CHALLENGE)
  if (operatorToken !== null && sameToken(given, operatorToken)) return { kind: 'operator' }
  if (given.startsWith(TEAM_ADMIN_TOKEN_PREFIX)) {
    const found = await lookUp(management, given)
    if (found.status === 'valid') return { kind: 'team', teamId: found.teamId, tokenId: found.id }
    // Only the holder of the exact token can see this, so saying it was revoked tells nobody else anything.
    if (found.status === 'revoked') throw new HttpError(401, 'unauthorized', 'admin API token has been revoked', undefined, CHALLENGE)
  }
  throw new HttpError(401, 'unauthorized', 'invalid admin API token', undefined, CHALLENGE)
}
