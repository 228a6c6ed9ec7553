import { HttpRequestInit, HttpResponseData } from '../interfaces'
import { FetchGuard } from './fetch-guard'
import { FetchRefusedError } from './fetch-refused-error'
import { ByteBudget, holdBytes, releaseBytes } from '../byte-budget'
import { responsesFull } from './bounded-response'

interface NodeFetchResponse {
  status: number
  statusText: string
  url: string
  headers: { raw(): Record<string, string[]>; get(name: string): string | null }
  body: NodeJS.ReadableStream & { resume?(): void; destroy?(error?: Error): void }
  buffer(): Promise<Buffer>
}
type NodeFetch = (url: string, init: Record<string, unknown>) => Promise<NodeFetchResponse>

const nodeFetch = require('node-fetch') as NodeFetch

const REDIRECTS = new Set([301, 302, 303, 307, 308])
/** Sent only to the origin the plugin named: a redirect elsewhere must not carry its credentials. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization']
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding']
/**
 * Request headers a plugin's fetch may send. node-fetch adds headers one by one, each after a scan
 * of those added before, on the host's event loop: 8 000 headers took 3.6 s of it, 30 000 about 50 s,
 * every team's events waiting. Servers refuse far less (Node 16 KB, nginx 8–32 KB of headers).
 */
export const MAX_REQUEST_HEADERS = 256
export const MAX_REQUEST_HEADER_BYTES = 64 * 1024

export interface GuardedFetchOptions {
  guard: FetchGuard
  signal?: AbortSignal
  maxBytes: number
  /** Without it each response may hold `maxBytes`, however many are read at once. */
  /** Bytes of response bodies one instance's fetches hold while they are read, shared by them all. */
  inFlight?: ByteBudget
}

/** A copy of the request's headers, or a TypeError naming the bound they are over. */
function boundedHeaders(given: Record<string, string>): Record<string, string> {
  const entries = Object.entries(given)
  if (entries.length > MAX_REQUEST_HEADERS) {
    throw new TypeError(`fetch: ${entries.length} request headers, more than the ${MAX_REQUEST_HEADERS} a request may carry`)
  }
  let bytes = 0
  for (const [name, value] of entries) bytes += name.length + String(value).length
  if (bytes > MAX_REQUEST_HEADER_BYTES) {
    throw new TypeError(`fetch: request headers of ${bytes} characters, more than the ${MAX_REQUEST_HEADER_BYTES} a request may carry`)
  }
  return Object.fromEntries(entries)
}

function withoutHeaders(headers: Record<string, string>, names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name.toLowerCase())))
}

/**
 * One request's own abort, which follows the instance's (`options.signal`, aborted when it is
 * disposed). A body stopped part way (over its size, its budget or its time) must abort its request:
 * destroying the body alone left the socket open, counted against the plugin's sockets, and
 * node-fetch's listener on the instance's signal, until the instance was disposed (days for a ready
 * config; after 64 such fetches every fetch of the config was refused).
 */
class RequestAbort {
  private readonly controller = new AbortController()
  private readonly follow = (): void => this.controller.abort()

  constructor(private readonly instance?: AbortSignal) {
    if (instance?.aborted) this.controller.abort()
    else instance?.addEventListener('abort', this.follow, { once: true })
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /**
   * Destroys the body with `error` (what its reader is told), then aborts the request. node-fetch
   * answers an abort by emitting its own `error` on the body at once: after the body has closed, so
   * the reader gets `error` first, and with a listener, as an error with none ends the process.
   */
  stop(response: NodeFetchResponse, error?: Error): void {
    const body = response.body as NodeJS.ReadableStream & { destroyed?: boolean; destroy(error?: Error): void }
    body.on('error', ignore)
    if (body.destroyed) return this.controller.abort()
    body.once('close', () => this.controller.abort())
    body.destroy(error)
  }

  unlink(): void {
    this.instance?.removeEventListener('abort', this.follow)
  }
}

const ignore = (): void => undefined

/**
 * node-fetch with the plugin fetch policy: redirects are followed here, one hop at a time, so each
 * hop's URL and addresses are checked like the first; at most `guard.maxRedirects` of them. Error
 * messages keep the origin but not the path and query, where plugins put API keys.
 */
export async function guardedFetch(rawUrl: string, init: HttpRequestInit, options: GuardedFetchOptions): Promise<HttpResponseData> {
  const { guard } = options
  let url = guard.check(rawUrl)
  let method = (init.method ?? 'GET').toUpperCase()
  let headers = boundedHeaders(init.headers ?? {})
  let body: string | Buffer | undefined = init.body instanceof Uint8Array ? Buffer.from(init.body) : init.body
  for (let hop = 0; ; hop++) {
    const request = new RequestAbort(options.signal)
    try {
      const response = await send(url, method, headers, body, init, options, request.signal)
      const location = response.headers.get('location')
      if (!REDIRECTS.has(response.status) || location === null) {
        const { inFlight, maxBytes } = options
        const stop = (error?: Error): void => request.stop(response, error)
        const reading = inFlight && { inFlight, maxBytes, timeoutMs: init.timeoutMs ?? 0 }
        const data = reading
          ? await readBody(response.body as AsyncIterable<Buffer>, stop, ['fetch', url.origin], reading)
          : await response.buffer().catch((error: unknown) => {
              // node-fetch refuses a body past `size` but goes on reading it: an endless one held its socket for good.
              request.stop(response)
              throw withoutUrl(error, url)
            })
        const list: [string, string][] = Object.entries(response.headers.raw()).map(([name, values]) => [name, values.join(', ')])
        return { status: response.status, statusText: response.statusText, url: url.href, headers: list, body: new Uint8Array(data) }
      }
      // A redirect's body is not read: reading it to its end, as draining did, read an endless one forever.
      request.stop(response)
      if (hop >= guard.maxRedirects) throw new FetchRefusedError(`more than ${guard.maxRedirects} redirects starting at ${new URL(rawUrl).origin}`, false)
      const next = guard.check(location, url)
      if (next.origin !== url.origin) headers = withoutHeaders(headers, CREDENTIAL_HEADERS)
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET'
        body = undefined
        headers = withoutHeaders(headers, BODY_HEADERS)
      }
      url = next
    } finally {
      request.unlink()
    }
  }
}

async function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
  init: HttpRequestInit,
  options: GuardedFetchOptions,
  signal: AbortSignal,
): Promise<NodeFetchResponse> {
  try {
    return await nodeFetch(url.href, {
      method,
      headers,
      body,
      signal,
      size: options.maxBytes,
      timeout: init.timeoutMs ?? 0,
      redirect: 'manual',
      agent: options.guard.agentFor(url),
    })
  } catch (error) {
    const e = error as Error & { code?: string }
    if (e.code === 'ERR_PLUGIN_FETCH_REFUSED') {
      // Without the allowlist hint when there was none: the fleet's own services are refused whatever it allows.
      const hinted = / \(operators can.*$/
      throw new FetchRefusedError(e.message.replace(/^.*fetch refused: /, '').replace(hinted, ''), hinted.test(e.message))
    }
    throw withoutUrl(e, url)
  }
}

/**
 * node-fetch names the URL in its errors (`request to <url> failed, reason: …`) as it formats it,
 * which is not always `href` (a `%3A` in a password decoded, `'` or `|` in the path): every URL in
 * the message becomes the origin, so neither path, query nor credentials are shown.
 */
function withoutUrl<E>(error: E, url: URL): E {
  const e = error as Error
  const urls = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi
  if (typeof e?.message === 'string') e.message = e.message.replace(urls, `${url.origin}/…`)
  if (typeof e?.stack === 'string') e.stack = e.stack.replace(urls, `${url.origin}/…`)
  return error
}

/**
 * The body, counted against the instance's bytes in flight as it arrives: fetches a plugin does
 * not await outlive their call, and each could otherwise hold `maxBytes` of a response that never
 * ends (ten of them held 454 MB of the host's memory, which no isolate limit sees). `timeoutMs` bounds
 * the body too, as node-fetch's own reading did. Errors name `what` (`fetch`, `posthog.api`) and the
 * origin `where`, never the path, where plugins put API keys.
 */
export async function readBody(
  body: AsyncIterable<Uint8Array>,
  stop: (error?: Error) => void,
  [what, where]: [string, string],
  reading: { inFlight: ByteBudget; maxBytes: number; timeoutMs: number },
): Promise<Buffer> {
  const { inFlight, maxBytes, timeoutMs } = reading
  const chunks: Buffer[] = []
  let size = 0
  const timer = timeoutMs > 0 ? setTimeout(() => stop(new Error(`network timeout at: ${where}/…`)), timeoutMs) : null
  try {
    for await (const chunk of body) {
      const bytes = chunk.length
      if (size + bytes > maxBytes) throw new Error(`content size at ${where}/… over limit: ${maxBytes}`)
      if (!holdBytes(inFlight, bytes)) {
        throw new Error(`${what} of ${where}/… stopped: ${responsesFull(inFlight, bytes)}`)
      }
      size += bytes
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))
    }
    return Buffer.concat(chunks)
  } catch (error) {
    stop()
    throw error
  } finally {
    if (timer) clearTimeout(timer)
    releaseBytes(inFlight, size)
  }
}
