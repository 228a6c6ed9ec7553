import type { AdminRouteKey, AdminRoutes, Answer, RawBody } from '@plugin-server/admin-contract'
import { request, requestAllPages, RequestOptions } from './client'

/** The body a route takes, as `request` sends it: none, a file, or JSON of the contract's type. */
type BodyOf<K extends AdminRouteKey> = [AdminRoutes[K]['body']] extends [never]
  ? undefined
  : AdminRoutes[K]['body'] extends RawBody
    ? { raw: Blob; contentType: string; headers?: Record<string, string> }
    : { json: AdminRoutes[K]['body'] }

export interface CallOptions<K extends AdminRouteKey> extends Omit<RequestOptions, 'body'> {
  body?: BodyOf<K>
  /** The query string, without `?`. */
  query?: string
}

/**
 * Calls a route by its contract key (`GET /api/configs/:id`), filling its `:params`, so the method,
 * the path and the answer's type all come from the one key the server's route is declared with.
 */
export function callRoute<K extends AdminRouteKey>(key: K, params: Record<string, string | number>, options: CallOptions<K> = {}): Promise<Answer<K>> {
  const { query, ...rest } = options
  return request<Answer<K>>(key.slice(0, key.indexOf(' ')), routeUrl(key, params, query), rest)
}

/** A paged list route (its answer an array), every page of it: see requestAllPages. */
export function callPagedRoute<K extends PagedRouteKey>(key: K, params: Record<string, string | number>): Promise<Answer<K>> {
  return requestAllPages<Answer<K>[number]>(routeUrl(key, params)) as Promise<Answer<K>>
}

/** The routes that answer a page of a longer list (API.md: `limit`, `after`, `Link: rel="next"`). */
export type PagedRouteKey = 'GET /api/teams' | 'GET /api/plugins'

function routeUrl(key: AdminRouteKey, params: Record<string, string | number>, query?: string): string {
  const path = key.slice(key.indexOf(' ') + 1).replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name]
    if (value === undefined) throw new Error(`${key}: no value for :${name}`)
    return encodeURIComponent(String(value))
  })
  return query ? `${path}?${query}` : path
}
