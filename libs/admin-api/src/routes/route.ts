import type { IncomingMessage } from 'node:http'
import type { ManagementContext } from '@plugin-server/meta'

export interface RouteContext {
  req: IncomingMessage
  params: Record<string, string>
  query: URLSearchParams
  management: ManagementContext
  maxBodyBytes: number
}

export interface RouteResult {
  status: number
  body: unknown
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface Route {
  method: HttpMethod
  /** `/api/configs/:id`; a `:name` segment matches one path segment. */
  pattern: string
  handler: (ctx: RouteContext) => Promise<RouteResult>
}
