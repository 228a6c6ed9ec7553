import { CaptureError } from './capture-error'
import { formFieldBytes } from './form-field'
import { gunzipBounded, looksGzipped } from './gunzip-bounded'
import { headerValue } from './headers'
import { CaptureLimits, CaptureRequest, DecodedBody } from './interfaces'

type CompressionHint = 'gzip' | 'base64' | 'lz64' | null

/**
 * Turn the raw request into parsed JSON. Handles every encoding the PostHog clients use:
 * - `Content-Encoding: gzip` (posthog-node 5.x),
 * - a gzip body flagged by `?compression=gzip-js` (posthog-js) — detected by magic bytes, since
 *   PostHog found that the flag is sometimes missing,
 * - form bodies / GET queries with `data=<base64 or urlencoded JSON>` (legacy posthog-js),
 * - `compression=base64` in the query or as a form field.
 * The size limit is checked on the raw body and after every expansion, so neither gzip nor
 * base64 can smuggle in more than `maxBodyBytes`.
 */
export function decodeBody(req: CaptureRequest, limits: CaptureLimits): DecodedBody {
  const max = limits.maxBodyBytes
  if (req.body.length > max) {
    throw new CaptureError(413, 'payload_too_large', `request body of ${req.body.length} bytes exceeds the ${max} byte limit`)
  }

  let bytes = req.body
  let compression: DecodedBody['compression'] = 'none'

  const contentEncoding = (headerValue(req.headers, 'content-encoding') ?? '').trim().toLowerCase()
  if (contentEncoding === 'gzip' || contentEncoding === 'x-gzip') {
    bytes = gunzipBounded(bytes, max)
    compression = 'gzip'
  } else if (contentEncoding !== '' && contentEncoding !== 'identity') {
    throw new CaptureError(415, 'unsupported_content_encoding', `unsupported content encoding "${contentEncoding}" (supported: gzip, identity)`)
  }

  const form = readForm(req, bytes)
  const hint = compressionHint((form === null ? null : formFieldBytes(form, 'compression')?.toString('utf8')) ?? req.query.get('compression'))
  if (hint === 'lz64') {
    throw new CaptureError(415, 'unsupported_compression', 'unsupported compression "lz64" (supported: gzip-js, base64)')
  }

  if (form) {
    const raw = formFieldBytes(form, 'data')
    const data = raw === null ? '' : utf8(raw)
    if (data.trim() === '') throw new CaptureError(400, 'no_data', 'no "data" field in the request')
    const decoded = decodeDataField(data, max)
    return { payload: parseJson(decoded.text, limits), text: decoded.text, compression: decoded.gzipped ? 'gzip' : decoded.base64 ? 'base64' : compression }
  }

  if (looksGzipped(bytes)) {
    bytes = gunzipBounded(bytes, max)
    compression = 'gzip'
  } else if (hint === 'base64') {
    const decoded = decodeDataField(utf8(bytes), max)
    return { payload: parseJson(decoded.text, limits), text: decoded.text, compression: decoded.gzipped ? 'gzip' : 'base64' }
  }
  const text = utf8(bytes)
  return { payload: parseJson(text, limits), text, compression }
}

/**
 * The form to read `data` from, as sent (its fields are read with formFieldBytes, which decodes
 * only the field asked for): the query for GET, the body for urlencoded posts, else null.
 */
function readForm(req: CaptureRequest, bytes: Buffer): string | null {
  if (req.method.toUpperCase() === 'GET' || (bytes.length === 0 && req.query.has('data'))) return req.rawQuery
  const contentType = (headerValue(req.headers, 'content-type') ?? '').toLowerCase()
  // Some old clients post `data=...` with a text/plain content type, so the body prefix counts too.
  if (contentType.includes('application/x-www-form-urlencoded') || startsWithDataField(bytes)) {
    // latin1: one character per byte, as formFieldBytes reads it (once, for both fields it is asked).
    return bytes.toString('latin1')
  }
  return null
}

function startsWithDataField(bytes: Buffer): boolean {
  return bytes.subarray(0, 5).toString('latin1') === 'data='
}

/** Names used by posthog-js and accepted by PostHog's capture; unknown values are ignored. */
function compressionHint(value: string | null): CompressionHint {
  switch ((value ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'gzip-js':
      return 'gzip'
    case 'base64':
    case 'b64':
      return 'base64'
    case 'lz64':
    case 'lz-string':
      return 'lz64'
    default:
      return null
  }
}

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/

/** A `data` value is JSON text as-is, or base64 of JSON (possibly of gzipped JSON). */
function decodeDataField(value: string, max: number): { text: string; base64: boolean; gzipped: boolean } {
  const trimmed = value.trim()
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return { text: trimmed, base64: false, gzipped: false }
  // A '+' that reached us unescaped was turned into a space by form decoding; put it back.
  const b64 = trimmed.replace(/ /g, '+').replace(/[\r\n]/g, '')
  if (!BASE64_RE.test(b64)) {
    throw new CaptureError(400, 'invalid_payload', 'the "data" field is neither JSON nor base64')
  }
  let bytes: Buffer = Buffer.from(b64, 'base64')
  if (bytes.length > max) {
    throw new CaptureError(413, 'payload_too_large', `decoded body exceeds the ${max} byte limit`)
  }
  const gzipped = looksGzipped(bytes)
  if (gzipped) bytes = gunzipBounded(bytes, max)
  return { text: utf8(bytes), base64: true, gzipped }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/** Invalid UTF-8 is refused rather than silently turned into U+FFFD in someone's properties. */
function utf8(bytes: Buffer): string {
  try {
    return UTF8.decode(bytes)
  } catch {
    throw new CaptureError(400, 'invalid_utf8', 'the request body is not valid UTF-8')
  }
}

/**
 * Heap bytes an object or array takes once parsed, at least (V8, pointer compression): an empty one
 * 28–64. Counted because the text's length alone understates what a body becomes: 18 MB of `{},`
 * became 384 MB of heap, where 18.6 MB of posthog-js events become 20 MB.
 */
const PARSED_CONTAINER_BYTES = 64
/** The most a body's objects and arrays may take once parsed, in bodies of the size limit; and at least this many of them, whatever the limit. */
const MAX_CONTAINERS_PER_BODY_LIMIT = 4
const MIN_MAX_CONTAINERS = 65_536

/** The text and what its objects and arrays take once parsed; `[` and `{` in strings count too, which only overstates it. */
function parsedSize(text: string): { bytes: number; containers: number } {
  let containers = 0
  // indexOf scans a fifth as long as a loop over every character, a tenth of what JSON.parse takes.
  for (const open of ['{', '[']) for (let at = text.indexOf(open); at !== -1; at = text.indexOf(open, at + 1)) containers++
  return { bytes: text.length + containers * PARSED_CONTAINER_BYTES, containers }
}

function parseJson(text: string, limits: CaptureLimits): unknown {
  if (text.trim() === '') throw new CaptureError(400, 'no_data', 'empty request body')
  const parsed = parsedSize(text)
  const maxContainers = Math.max(MIN_MAX_CONTAINERS, Math.floor((MAX_CONTAINERS_PER_BODY_LIMIT * limits.maxBodyBytes) / PARSED_CONTAINER_BYTES))
  if (parsed.containers > maxContainers) {
    throw new CaptureError(
      413,
      'payload_too_large',
      `the body holds ${parsed.containers} objects and arrays, more than the ${maxContainers} a body may hold (${PARSED_CONTAINER_BYTES} bytes each once parsed; ${MAX_CONTAINERS_PER_BODY_LIMIT} times the body limit)`,
    )
  }
  limits.beforeParse?.(parsed.bytes)
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new CaptureError(400, 'invalid_json', `invalid JSON: ${reason}`)
  }
}
