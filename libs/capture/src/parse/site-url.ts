import { headerValue } from './headers'
import { CaptureRequest, JsonObject } from './interfaces'

/**
 * The site an event came from, as an origin (`https://example.com`): the browser's `Origin`
 * header, else the `Referer`'s origin, else the origin of the event's `$current_url`; '' when
 * none is usable (server-side SDKs send none of them).
 */
export function siteUrl(headers: CaptureRequest['headers'], properties: JsonObject): string {
  return originOf(headerValue(headers, 'origin')) ?? originOf(headerValue(headers, 'referer')) ?? originOf(properties.$current_url) ?? ''
}

/** Events of a request often share their `$current_url` (and requests their Origin): the last answer is kept. */
let lastValue = ''
let lastOrigin: string | null = null

function originOf(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null
  if (value === lastValue) return lastOrigin
  lastOrigin = parse(value)
  lastValue = value
  return lastOrigin
}

/**
 * A site's origin is a scheme, a host name (DNS names have at most 253 characters) and a port. One
 * longer is no site's: an `Origin` header of 15 KB was copied into every event of its request.
 */
const MAX_ORIGIN_LENGTH = 300

function parse(value: string): string | null {
  try {
    const origin = new URL(value).origin
    // Sandboxed frames and file: pages report the opaque origin "null".
    return origin === 'null' || origin.length > MAX_ORIGIN_LENGTH ? null : origin
  } catch {
    return null
  }
}
