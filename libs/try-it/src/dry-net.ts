import type { HttpRequestInit, HttpResponseData } from '@plugin-server/plugin-vm'

/** Reads are sent: they change nothing, and a plugin's output often depends on what they answer. */
export const SENT_FETCH_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD'])

/** Shown as present, never as their value: they often carry credentials in a form no scrub would recognise (base64). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'api-key'])
const PREVIEW_BYTES = 8 * 1024

export interface RequestView {
  method: string
  headers: Record<string, string>
  body?: string
}

export interface ResponseView {
  status: number
  status_text: string
  url: string
  body: string
}

/** A URL without a password in it (`https://user:pass@host` would otherwise show it). */
export function shownUrl(raw: string): string {
  try {
    const url = new URL(raw)
    if (url.password === '') return raw
    url.password = '[redacted]'
    return url.href
  } catch {
    return raw
  }
}

export function shownHeaders(headers: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => {
      if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) return [name, value]
      // The scheme says which kind of credential was sent, which is what one checks in a dry run.
      const scheme = /^(\w+)\s+\S/.exec(String(value))?.[1]
      return [name, scheme ? `${scheme} [redacted]` : '[redacted]']
    }),
  )
}

function bodyText(body: string | Uint8Array | undefined): string | undefined {
  if (body === undefined) return undefined
  if (typeof body === 'string') return body
  return `[binary, ${body.byteLength} bytes]`
}

export function requestView(init: HttpRequestInit): RequestView {
  const body = bodyText(init.body)
  return { method: (init.method ?? 'GET').toUpperCase(), headers: shownHeaders(init.headers), ...(body === undefined ? {} : { body }) }
}

/** The start of the body as text; the redactor cuts it further and scrubs it. */
export function responseView(response: HttpResponseData): ResponseView {
  const head = Buffer.from(response.body.subarray(0, PREVIEW_BYTES)).toString('utf8')
  const more = response.body.byteLength > PREVIEW_BYTES ? `… (${response.body.byteLength} bytes in all)` : ''
  return { status: response.status, status_text: response.statusText, url: shownUrl(response.url), body: head + more }
}

export function originOf(raw: string): string {
  try {
    return new URL(raw).origin
  } catch {
    return JSON.stringify(raw)
  }
}

/** What the plugin's call rejects with: it must be unmistakable that nothing was sent. */
export function notSentError(what: string): Error {
  return new Error(`${what} was not sent: this is a dry run (Try it), which sends only GET and HEAD requests`)
}
