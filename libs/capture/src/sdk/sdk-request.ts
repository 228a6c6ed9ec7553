import { CaptureError, CaptureLimits, CaptureRequest, decodeBody, missingToken, validateToken } from '../parse'
import { isJsonObject } from '../parse/is-json-object'

/** The requests posthog-js makes besides sending events. */
export type SdkEndpoint = { kind: 'flags' | 'decide' } | { kind: 'config' | 'config.js'; token: string }

const CONFIG_PATH = /^\/array\/([^/]+)\/(config|config\.js)$/

/** Which SDK endpoint a path (trailing slashes removed) names, or null for none. */
export function matchSdkEndpoint(path: string): SdkEndpoint | null {
  if (path === '/flags') return { kind: 'flags' }
  if (path === '/decide') return { kind: 'decide' }
  const config = CONFIG_PATH.exec(path)
  if (config === null) return null
  let token: string
  try {
    token = decodeURIComponent(config[1])
  } catch {
    throw new CaptureError(401, 'invalid_token', 'invalid api token in the path: not URL-encoded text', 'token')
  }
  return { kind: config[2] === 'config' ? 'config' : 'config.js', token: validateToken(token, 'the path') }
}

/**
 * The project token of a /flags or /decide request: `token` (or `api_key`) in the body, which
 * comes in any encoding the event endpoints accept (JSON, gzip, base64, `data=` forms), else in
 * the query string. A GET without `data` and an empty POST have no body to read.
 */
export function flagsRequestToken(req: CaptureRequest, limits: CaptureLimits): string {
  const hasBody = req.method.toUpperCase() === 'GET' ? req.query.has('data') : req.body.length > 0
  if (hasBody) {
    const { payload } = decodeBody(req, limits)
    if (!isJsonObject(payload)) throw new CaptureError(400, 'invalid_payload', 'the request body must be a JSON object', null)
    const raw = payload.token ?? payload.api_key ?? payload.$token
    if (raw !== undefined && raw !== null) return validateToken(raw, 'body')
  }
  const fromQuery = req.query.get('token') ?? req.query.get('api_key')
  if (fromQuery !== null) return validateToken(fromQuery, 'query string')
  throw missingToken()
}
