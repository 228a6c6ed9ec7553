import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ManagementContext, ManagementError } from '@plugin-server/meta'
import { sendJson } from './http-io'
import { AdminApiDeps, AdminApiHandler, ErrorBody, HttpError } from './interfaces'
import { findRoute } from './router'

const DEFAULT_MAX_BODY_BYTES = 50 * 1024 * 1024

/** Digests first, so the comparison takes the same time whatever the length of the guess. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '')
  if (!match) return false
  const given = createHash('sha256').update(match[1].trim()).digest()
  return timingSafeEqual(given, createHash('sha256').update(token).digest())
}

function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err
  if (err instanceof ManagementError) return new HttpError(err.status, err.code, err.message, err.field)
  return null
}

function sendError(res: ServerResponse, err: HttpError): void {
  const body: ErrorBody = { error: { code: err.code, message: err.message, ...(err.field !== undefined ? { field: err.field } : {}) } }
  sendJson(res, err.status, body, err.headers)
}

function authorize(req: IncomingMessage, token: string | null): void {
  if (token === null) throw new HttpError(503, 'admin_api_disabled', 'admin API disabled: set ADMIN_API_TOKEN')
  const header = req.headers.authorization
  if (!header) throw new HttpError(401, 'unauthorized', 'missing Authorization: Bearer <ADMIN_API_TOKEN> header', undefined, { 'WWW-Authenticate': 'Bearer' })
  if (!tokenMatches(header, token)) throw new HttpError(401, 'unauthorized', 'invalid admin API token', undefined, { 'WWW-Authenticate': 'Bearer' })
}

/**
 * The admin API as a request handler that can be mounted in front of any node:http server: it
 * answers everything under /api/ and leaves other paths to the caller. Request bodies and
 * config values are never logged, since any of them may hold a secret.
 */
export function createAdminApi(deps: AdminApiDeps): AdminApiHandler {
  const management: ManagementContext = { pool: deps.pool, redis: deps.redis, queuePrefix: deps.queuePrefix, logger: deps.logger.child({ component: 'admin-api' }) }
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin.invalid')
    if (!url.pathname.startsWith('/api/') && url.pathname !== '/api') return false
    const started = Date.now()
    const method = (req.method ?? 'GET').toUpperCase()
    const path = url.pathname.replace(/\/+$/, '') || '/'
    let status = 500
    try {
      authorize(req, deps.token)
      const found = findRoute(method, path)
      if (!found) throw new HttpError(404, 'not_found', `no such endpoint: ${method} ${path}`)
      if ('allowed' in found) {
        throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${path} (allowed: ${found.allowed.join(', ')})`, undefined, { Allow: found.allowed.join(', ') })
      }
      const result = await found.route.handler({ req, params: found.params, query: url.searchParams, management, maxBodyBytes })
      status = result.status
      sendJson(res, result.status, result.body)
    } catch (err) {
      const known = toHttpError(err)
      if (known) {
        status = known.status
        sendError(res, known)
      } else {
        management.logger.error({ err: (err as Error).message, method, path }, 'admin API request failed')
        sendError(res, new HttpError(500, 'internal_error', 'internal error; see the server log'))
      }
      // A body we did not read would otherwise keep the socket busy.
      if (!req.complete) req.resume()
    }
    management.logger.info({ method, path, status, ms: Date.now() - started }, 'admin API request')
    return true
  }
}
