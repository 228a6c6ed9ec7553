import type { AdminRouteKey, Answer, ServerValueOf } from '@plugin-server/admin-contract'
import type { HttpMethod, Route, RouteAccess, RouteContext } from './route'

/** A route's result whose body must serialise to the contract's answer for that route. */
export interface TypedResult<K extends AdminRouteKey> {
  status: number
  body: ServerValueOf<Answer<K>>
  headers?: Record<string, string>
}

/**
 * A route named by its contract key (`GET /api/configs/:id`): its method and pattern come from the
 * key, and its handler must answer what the contract says, so a server type that stops matching
 * the wire fails to compile here rather than in the UI.
 */
export function defineRoute<K extends AdminRouteKey>(key: K, access: RouteAccess, handler: (ctx: RouteContext) => Promise<TypedResult<K>>): Route {
  const space = key.indexOf(' ')
  return { method: key.slice(0, space) as HttpMethod, pattern: key.slice(space + 1), access, handler }
}
