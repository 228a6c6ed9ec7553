import type { IncomingMessage, ServerResponse } from 'node:http'
import { BodyBudget, withoutTrailingSlashes } from '@plugin-server/core'
import { ManagementContext, ManagementError } from '@plugin-server/management'
import { createAdminServices } from './admin-services'
import { authenticate } from './authenticate'
import { authorizeRoute } from './authorize-route'
import { sendJson } from './http-io'
import { AdminApi, AdminApiDeps, ErrorBody, HttpError } from './interfaces'
import { assertStorableRequest } from './parse-input'
import { findRoute } from './router'

const DEFAULT_MAX_BODY_BYTES = 50 * 1024 * 1024
/**
 * Admin request bodies one process holds at once, in bodies of the largest size: any team's token may
 * send 50 MB bodies (attachments, configs), and without a bound twenty of them at once would have
 * the capture process, every team's event intake, hold a gigabyte. A body alone always passes.
 */
const BODIES_IN_FLIGHT = 2

function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err
  if (err instanceof ManagementError) return new HttpError(err.status, err.code, err.message, err.field)
  return null
}

function sendError(res: ServerResponse, err: HttpError): void {
  const body: ErrorBody = { error: { code: err.code, message: err.message, ...(err.field !== undefined ? { field: err.field } : {}) } }
  sendJson(res, err.status, body, err.headers)
}

/**
 * The admin API as a request handler that can be mounted in front of any node:http server: it
 * answers everything under /api/ and leaves other paths to the caller. Request bodies and
 * config values are never logged, since any of them may hold a secret.
 */
export function createAdminApi(deps: AdminApiDeps): AdminApi {
  const management: ManagementContext = {
    pool: deps.pool,
    redis: deps.redis,
    queuePrefix: deps.queuePrefix,
    logger: deps.logger.child({ component: 'admin-api' }),
    secrets: deps.secrets,
    attachmentMaxBytes: deps.attachmentMaxBytes,
  }
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const bodies = new BodyBudget(deps.bodiesInFlightBytes ?? BODIES_IN_FLIGHT * maxBodyBytes)
  const services = createAdminServices(management, deps.logLongPolls, deps.schedulerShards, deps.limits)
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = URL.parse(req.url ?? '/', 'http://admin.invalid')
    if (url === null) return false
    if (!url.pathname.startsWith('/api/') && url.pathname !== '/api') return false
    const started = Date.now()
    const method = (req.method ?? 'GET').toUpperCase()
    const path = withoutTrailingSlashes(url.pathname)
    let status = 500
    // Which token acted, for the audit trail; never the token itself.
    let actor: Record<string, number | string> = {}
    const bodyHold = bodies.hold()
    try {
      const principal = await authenticate(req, deps.token, deps.teamTokens ?? false, management)
      actor = principal.kind === 'team' ? { teamId: principal.teamId, tokenId: principal.tokenId } : { actor: 'operator' }
      const found = findRoute(method, path)
      if (!found) throw new HttpError(404, 'not_found', `no such endpoint: ${method} ${path}`)
      if ('allowed' in found) {
        throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${path} (allowed: ${found.allowed.join(', ')})`, undefined, {
          Allow: found.allowed.join(', '),
        })
      }
      assertStorableRequest(found.params, url.searchParams)
      await authorizeRoute(principal, found.route, found.params, management)
      const result = await found.route.handler({
        req,
        params: found.params,
        query: url.searchParams,
        management,
        maxBodyBytes,
        bodyHold,
        principal,
        services,
        pluginSettings: deps.pluginSettings,
      })
      status = result.status
      sendJson(res, result.status, result.body, result.headers)
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
    } finally {
      bodyHold.release()
    }
    management.logger.info({ method, path, status, ...actor, ms: Date.now() - started }, 'admin API request')
    return true
  }
  return Object.assign(handler, {
    close: () => services.close(),
    releaseLongPolls: () => services.logTail.releaseAll(),
    longPolls: () => services.logTail.waiting,
  })
}
