import { nextPage } from '../lib/next-page'
import { clearSession, storedToken } from '../lib/session'

/** An error answer of the API (`{ error: { code, message, field? } }`), or a request that never got one (status 0). */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

export type RequestBody = { json: unknown } | { raw: Blob; contentType: string; headers?: Record<string, string> }

export interface RequestOptions {
  body?: RequestBody
  /** A token to try instead of the stored one (the login form); a 401 then does not end the session. */
  token?: string
  /** Cancels the request (a long-poll given up when its view closes). */
  signal?: AbortSignal
}

let unauthorizedListener: (message: string) => void = () => undefined

/** The app goes back to the login page, with the message, whenever the stored token is refused. */
export function onUnauthorized(listener: (message: string) => void): void {
  unauthorizedListener = listener
}

function errorFromBody(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; field?: unknown } } | null)?.error
  if (error && typeof error.message === 'string') {
    return new ApiError(status, String(error.code ?? 'error'), error.message, typeof error.field === 'string' ? error.field : undefined)
  }
  return new ApiError(status, 'http_error', `the server answered HTTP ${status}`)
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  return (await exchange<T>(method, path, options)).body
}

/**
 * A paged list whole: each page's `Link: rel="next"` followed (nextPage: same origin, never a page
 * twice) and the pages joined, for the views that show every row (the team picker, the plugins
 * list). Pages are keyset pages, so a row added meanwhile is either listed once or not at all, never twice.
 */
export async function requestAllPages<T>(path: string, options: RequestOptions = {}): Promise<T[]> {
  const rows: T[] = []
  const seen = new Set<string>()
  for (let next: string | null = path; next !== null;) {
    const current: string = next
    seen.add(current)
    const page: { body: T[]; link: string | null } = await exchange<T[]>('GET', current, options)
    rows.push(...page.body)
    try {
      next = nextPage(page.link, current, location.origin, seen, page.body.length)
    } catch (err) {
      throw new ApiError(0, 'invalid_response', (err as Error).message)
    }
  }
  return rows
}

async function exchange<T>(method: string, path: string, options: RequestOptions): Promise<{ body: T; link: string | null }> {
  const token = options.token ?? storedToken()
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  let body: BodyInit | undefined
  if (options.body && 'json' in options.body) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body.json)
  } else if (options.body) {
    Object.assign(headers, options.body.headers, { 'Content-Type': options.body.contentType })
    body = options.body.raw
  }
  let res: Response
  try {
    res = await fetch(path, { method, headers, body, signal: options.signal })
  } catch (err) {
    throw new ApiError(0, 'network_error', `could not reach the server: ${(err as Error).message}`)
  }
  const text = await res.text()
  let parsed: unknown = null
  try {
    parsed = text === '' ? null : JSON.parse(text)
  } catch {
    if (res.ok) throw new ApiError(res.status, 'invalid_response', `the server answered ${method} ${path} with something that is not JSON`)
  }
  if (res.ok) return { body: parsed as T, link: res.headers.get('Link') }
  const error = errorFromBody(res.status, parsed)
  if (res.status === 401 && options.token === undefined) {
    clearSession()
    unauthorizedListener(error.message)
  }
  throw error
}
