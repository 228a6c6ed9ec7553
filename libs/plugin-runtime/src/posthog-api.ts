import { FetchGuard, guardedFetch, readBody } from '@plugin-server/plugin-vm'
import type { ApiRequest, HttpResponseData, ResponseReading } from '@plugin-server/plugin-vm'
import { withoutTrailingSlashes } from '@plugin-server/core'

/** Longer is no host a plugin means: URLs stay under a couple of thousand characters in practice. */
const MAX_HOST_CHARS = 2048

export interface ApiDefaults {
  host: string
  personalApiKey: string
  projectApiKey: string
  /** Applied when a plugin names its own `host`: that is plugin-chosen traffic like fetch. */
  guard: FetchGuard
}

/**
 * `posthog.api.get/post/put/delete(path, { data, host, projectApiKey, personalApiKey })`: the
 * personal key authenticates, the project is selected by its API token; GET and DELETE send `data`
 * as query parameters, POST and PUT as a JSON body. The response is read within `reading`, as a
 * plugin's fetch is: the operator's host answers whatever path a plugin asks for (an export of every
 * event, say), and a plugin may ask many at once.
 */
export async function callPosthogApi(
  request: ApiRequest,
  defaults: ApiDefaults,
  reading: ResponseReading,
  doFetch: typeof fetch = fetch,
): Promise<HttpResponseData> {
  const options = request.options as { data?: Record<string, unknown>; host?: string | null; projectApiKey?: string; personalApiKey?: string }
  // null or absent: the operator's host, as PostHog's `options.host ?? SITE_URL`.
  if (options.host != null && (typeof options.host !== 'string' || options.host.length > MAX_HOST_CHARS)) {
    throw new Error(`posthog.api: host must be a URL of at most ${MAX_HOST_CHARS} characters`)
  }
  // Not replace(/\/+$/, ''): a plugin's host of 80 000 slashes then a letter held the worker's event loop for 2 s.
  const host = withoutTrailingSlashes(options.host ?? defaults.host)
  // The operator's host is trusted and gets the operator's key; a host the plugin names gets
  // neither the key (it would leak to whoever runs that host) nor an unchecked connection.
  const ownHost = host === withoutTrailingSlashes(defaults.host)
  const personalApiKey = options.personalApiKey ?? (ownHost ? defaults.personalApiKey : '')
  if (!personalApiKey) {
    throw new Error(
      ownHost
        ? 'posthog.api: no personal API key: pass personalApiKey or set POSTHOG_PERSONAL_API_KEY'
        : 'posthog.api: a host other than POSTHOG_API_HOST needs its own personalApiKey',
    )
  }
  const url = new URL(`${host}${request.path.startsWith('/') ? '' : '/'}${request.path}`)
  const data = options.data ?? {}
  const bodyless = request.method === 'GET' || request.method === 'DELETE'
  // The query in one pass: `searchParams.set` per key rescans the list and rewrites the URL each
  // time, quadratic in a plugin's `data` keys on the host's event loop (16 000 keys: 207 against 17 ms).
  const given = new Map<string, string>([['token', options.projectApiKey ?? defaults.projectApiKey]])
  if (bodyless) for (const [key, value] of Object.entries(data)) given.set(key, typeof value === 'string' ? value : JSON.stringify(value))
  url.search = new URLSearchParams([...[...url.searchParams].filter(([key]) => !given.has(key)), ...given]).toString()
  const init = {
    method: request.method,
    headers: { Authorization: `Bearer ${personalApiKey}`, ...(bodyless ? {} : { 'Content-Type': 'application/json' }) },
    body: bodyless ? undefined : JSON.stringify(data),
  }
  const { inFlight, maxBytes, timeoutMs, signal } = reading
  if (!ownHost) return guardedFetch(url.href, { ...init, timeoutMs }, { guard: defaults.guard, maxBytes, inFlight, signal })
  const stopped = new AbortController()
  const response = await doFetch(url, { ...init, signal: AbortSignal.any([stopped.signal, AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])]) })
  const stop = (error?: Error): void => stopped.abort(error)
  const body = response.body ? await readBody(response.body, stop, ['posthog.api', url.origin], reading) : Buffer.alloc(0)
  return { status: response.status, statusText: response.statusText, url: response.url, headers: [...response.headers.entries()], body: new Uint8Array(body) }
}
