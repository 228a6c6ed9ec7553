import type { AdminRouteKey, AdminRoutes, Answer, RawBody } from '@plugin-server/admin-contract'
import { request, RequestOptions } from './client'

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
  const space = key.indexOf(' ')
  const path = key.slice(space + 1).replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name]
    if (value === undefined) throw new Error(`${key}: no value for :${name}`)
    return encodeURIComponent(String(value))
  })
  const { query, ...rest } = options
  return request<Answer<K>>(key.slice(0, space), query ? `${path}?${query}` : path, rest)
}
