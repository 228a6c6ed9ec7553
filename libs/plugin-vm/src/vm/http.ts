import { HttpRequestInit, HttpResponseData } from '../interfaces'
import { guardedFetch, GuardedFetchOptions } from '../net/guarded-fetch'

/**
 * Default `fetch` for plugins: node-fetch behind the fetch policy (no private addresses, http(s)
 * only, redirects re-checked), body read fully (bounded) so one copy crosses the boundary.
 */
export function defaultFetch(url: string, init: HttpRequestInit, options: GuardedFetchOptions): Promise<HttpResponseData> {
  return guardedFetch(url, init, options)
}
