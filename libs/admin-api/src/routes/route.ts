import type { IncomingMessage } from 'node:http'
import type { BodyHold } from '@plugin-server/core'
import type { ManagementContext } from '@plugin-server/management'
import type { TrySettings } from '@plugin-server/try-it'
import type { AdminServices } from '../admin-services'
import type { AdminPrincipal } from '../interfaces'

export interface RouteContext {
  req: IncomingMessage
  params: Record<string, string>
  query: URLSearchParams
  management: ManagementContext
  maxBodyBytes: number
  /** This request's share of the bytes of admin request bodies the process holds; readBody takes it. */
  bodyHold: BodyHold
  /** Who is asking; already allowed on this route. */
  principal: AdminPrincipal
  /** Queues and background work of this API process (dead-letter replays, historical exports, task chains). */
  services: AdminServices
  /** `AdminApiDeps.pluginSettings`, for dry runs. */
  pluginSettings?: Partial<TrySettings>
}

export interface RouteResult {
  status: number
  body: unknown
  /** Sent with the body: a paged list's `Link` to its next page. */
  headers?: Record<string, string>
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/**
 * Who may call a route; required on every route so a new one cannot be added without deciding.
 * - `operator`: the operator token only (teams, plugin installs: they affect every team);
 * - `catalogue`: any valid token (the installed plugins are shared by all teams);
 * - `team`: the operator, or a token of the team in `:teamId`;
 * - `config`: the operator, or a token of the team that owns the plugin config in `:id`.
 */
export type RouteAccess = 'operator' | 'catalogue' | 'team' | 'config'

export interface Route {
  method: HttpMethod
  /** `/api/configs/:id`; a `:name` segment matches one path segment. */
  pattern: string
  access: RouteAccess
  handler: (ctx: RouteContext) => Promise<RouteResult>
}
