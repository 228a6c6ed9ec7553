import type { Args } from './args'
import type { Callback } from './callback'
import { JwtClient, serviceAccountClient, serviceAccountKey } from './google-auth'
import type { PrivateKeys } from './private-keys'

/** `object`: plain data the spec checks further (Storage's `retryOptions`). */
export type OptionKind = 'string' | 'boolean' | 'number' | 'object'

/** Client options every Google SDK here shares; `credentials` is handled apart. */
const COMMON_KEYS: Record<string, OptionKind> = { projectId: 'string', apiEndpoint: 'string', autoRetry: 'boolean', maxRetries: 'number' }

export interface GoogleClientOptions {
  projectId: string
  authClient: JwtClient
  [key: string]: unknown
}

/**
 * `new BigQuery(options)` / `new Storage(options)` / `new PubSub(options)` as the SDK gets them:
 * allowlisted keys with checked types, an auth client made from the plugin's own key, and always
 * a project id, so the SDK neither reads the worker's credentials, files or environment for them
 * nor asks the metadata server. `keyFilename`, `authClient`, `scopes` and the rest are refused by name.
 * The key's `private_key` is read once by `privateKeys` (its size checked: the auth client signs with it).
 */
export function googleClientOptions(
  args: Args,
  privateKeys: PrivateKeys,
  sdkPath: string,
  scopes: string[],
  extra: Record<string, OptionKind> = {},
): GoogleClientOptions {
  const raw = args.record(0, 'options') ?? {}
  const keys = { ...COMMON_KEYS, ...extra }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'credentials') continue
    const kind = Object.prototype.hasOwnProperty.call(keys, key) ? keys[key] : undefined
    if (kind === undefined) throw args.error(`option "${key}" is not available to plugins (allowed: credentials, ${Object.keys(keys).join(', ')})`)
    if (value === undefined || value === null) continue
    const bad = kind === 'object' ? typeof value !== 'object' || Array.isArray(value) : typeof value !== kind
    if (bad || (kind === 'number' && !(Number.isFinite(value) && (value as number) >= 0)))
      throw args.error(`option "${key}" must be ${kind === 'number' ? 'a non-negative number' : kind === 'object' ? 'an object' : `a ${kind}`}`)
    out[key] = value
  }
  const key = serviceAccountKey(args, raw.credentials)
  key.private_key = privateKeys.unlock(key.private_key, undefined, 'options.credentials.private_key', (message) => args.error(message))
  const projectId = (out.projectId as string | undefined) || key.project_id
  if (!projectId) throw args.error('options.projectId is required (or project_id in options.credentials)')
  return { ...out, projectId, authClient: serviceAccountClient(sdkPath, key, scopes) }
}

/** Plain data given to an SDK method, with only the listed keys (each still plain data). */
export function pickOptions(args: Args, index: number, name: string, allowed: readonly string[]): Record<string, unknown> | undefined {
  const raw = args.record(index, name)
  if (!raw) return undefined
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) throw args.error(`${name}.${key} is not available to plugins (allowed: ${allowed.join(', ')})`)
  }
  return { ...raw }
}

/** At most this much of an SDK's `errors` list crosses to the plugin. */
const MAX_ERRORS_CHARS = 64 * 1024

/**
 * An SDK failure as a plain Error: name, message, `code`/`status`/`reason` and the SDK's `errors`
 * list (BigQuery's per-row insert errors, the API's error list) as data, so a plugin can tell a 503
 * from a bad row and throw RetryError. Never the SDK's `response` or `config` (request headers
 * carry the access token).
 */
export function googleError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error))
  const source = error as Error & Record<string, unknown>
  const out = new Error(error.message) as Error & Record<string, unknown>
  // A request that got no HTTP answer (gaxios wraps node-fetch's): a FetchError to the plugin, as node-fetch names it.
  const cause = source.cause as { name?: unknown } | undefined
  out.name = cause?.name === 'FetchError' || source.type === 'system' ? 'FetchError' : error.name
  for (const key of ['code', 'status', 'reason', 'details', 'type', 'errno', 'syscall']) {
    const value = source[key]
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value
  }
  if (Array.isArray(source.errors)) {
    try {
      const text = JSON.stringify(source.errors)
      if (text.length <= MAX_ERRORS_CHARS) out.errors = JSON.parse(text) as unknown[]
    } catch {
      // Not data (a cycle, a BigInt): the message still says what failed.
    }
  }
  return out
}

/**
 * The promise for the plugin to await (failures as plain errors), or, when the plugin passed a
 * node-style callback, that callback with `(err, ...results)` as the Google SDKs call theirs.
 */
export function settle(promise: Promise<unknown>, callback: Callback | undefined): Promise<unknown> | undefined {
  const plain = promise.then(withoutResponses, (error: unknown) => Promise.reject(googleError(error)))
  if (!callback) return plain
  plain.then(
    (value) => callback.call(null, ...(Array.isArray(value) ? value : [value])),
    (error: unknown) => callback.call(error),
  )
  return undefined
}

/**
 * The SDKs resolve `[result, apiResponse]`, and for some calls apiResponse is the HTTP response
 * object itself (its request, agent and headers, the access token among them): that is replaced by
 * its body. Everything else is the API's JSON, plain data.
 */
function withoutResponses(value: unknown): unknown {
  return Array.isArray(value) ? value.map(responseBody) : responseBody(value)
}

function responseBody(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) return value
  const v = value as Record<string, unknown>
  // teeny-request / node-fetch style, then gaxios style.
  if (typeof v.statusCode === 'number' && 'headers' in v) return typeof v.body === 'object' ? v.body : undefined
  if (typeof v.status === 'number' && 'config' in v && 'data' in v) return v.data
  return value
}

/** The SDK's own path, so its own copy of google-auth-library is the one used. */
export function sdkPath(name: string): string {
  return require.resolve(name)
}
