import type { Args } from './args'

type Kind = 'string' | 'boolean' | 'number' | 'record'

/** `new S3(options)` / `AWS.config.update(options)` keys a plugin may set. Everything else (logger, credentialProvider, httpOptions.agent, …) is refused. */
const OPTION_KEYS: Record<string, Kind> = {
  accessKeyId: 'string',
  secretAccessKey: 'string',
  sessionToken: 'string',
  credentials: 'record',
  region: 'string',
  endpoint: 'string',
  apiVersion: 'string',
  s3ForcePathStyle: 'boolean',
  s3BucketEndpoint: 'boolean',
  s3DisableBodySigning: 'boolean',
  useAccelerateEndpoint: 'boolean',
  signatureVersion: 'string',
  sslEnabled: 'boolean',
  computeChecksums: 'boolean',
  correctClockSkew: 'boolean',
  maxRetries: 'number',
  retryDelayOptions: 'record',
  httpOptions: 'record',
  params: 'record',
}
const CREDENTIAL_KEYS = new Set(['accessKeyId', 'secretAccessKey', 'sessionToken'])
const HTTP_OPTION_KEYS = new Set(['timeout', 'connectTimeout'])
const RETRY_DELAY_KEYS = new Set(['base'])
/** More would let one plugin's call keep sockets and timers busy for a very long time. */
const MAX_RETRIES = 10

export type AwsOptions = Record<string, unknown>

/**
 * The allowlisted options of one `new S3(options)` or `AWS.config.update(options)` argument,
 * with checked types. Nested records (credentials, httpOptions, retryDelayOptions) are allowlisted too.
 */
export function awsOptions(args: Args, index: number): AwsOptions {
  const given = args.record(index, 'options') ?? {}
  const out: AwsOptions = {}
  for (const [key, value] of Object.entries(given)) {
    const kind = Object.prototype.hasOwnProperty.call(OPTION_KEYS, key) ? OPTION_KEYS[key] : undefined
    if (kind === undefined) throw args.error(`option "${key}" is not available to plugins (allowed: ${Object.keys(OPTION_KEYS).join(', ')})`)
    if (value === undefined || value === null) continue
    out[key] = checked(args, key, kind, value)
  }
  if (out.credentials) out.credentials = nested(args, 'credentials', out.credentials, CREDENTIAL_KEYS, 'string')
  if (out.httpOptions) out.httpOptions = nested(args, 'httpOptions', out.httpOptions, HTTP_OPTION_KEYS, 'number')
  if (out.retryDelayOptions) out.retryDelayOptions = nested(args, 'retryDelayOptions', out.retryDelayOptions, RETRY_DELAY_KEYS, 'number')
  if (typeof out.maxRetries === 'number' && out.maxRetries > MAX_RETRIES) throw args.error(`option "maxRetries" must be at most ${MAX_RETRIES}`)
  return out
}

/**
 * What the SDK gets: the plugin's options over its per-plugin defaults, with explicit credentials,
 * region and the flags the SDK would otherwise read from the worker's AWS_* variables or ~/.aws
 * files. Without an access key and secret the client is refused: the credential provider chain
 * (environment, shared files, ECS, EC2 instance metadata) must never be reached for a plugin.
 */
export function s3ClientOptions(args: Args, options: AwsOptions, Credentials: new (options: AwsOptions) => unknown): AwsOptions {
  const { credentials, accessKeyId, secretAccessKey, sessionToken, ...rest } = options
  const fromRecord = (credentials ?? {}) as AwsOptions
  const key = accessKeyId ?? fromRecord.accessKeyId
  const secret = secretAccessKey ?? fromRecord.secretAccessKey
  const token = sessionToken ?? fromRecord.sessionToken
  if (typeof key !== 'string' || key === '' || typeof secret !== 'string' || secret === '') {
    throw args.error("accessKeyId and secretAccessKey are required (the server's own AWS credentials are never used for plugins)")
  }
  return {
    region: 'us-east-1',
    ...rest,
    credentials: new Credentials({ accessKeyId: key, secretAccessKey: secret, ...(typeof token === 'string' ? { sessionToken: token } : {}) }),
    credentialProvider: null,
    s3UsEast1RegionalEndpoint: 'legacy',
    s3UseArnRegion: false,
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    stsRegionalEndpoints: 'legacy',
    clientSideMonitoring: false,
    endpointDiscoveryEnabled: false,
  }
}

function checked(args: Args, key: string, kind: Kind, value: unknown): unknown {
  if (kind === 'string' && typeof value === 'string') return value
  if (kind === 'boolean' && typeof value === 'boolean') return value
  if (kind === 'number' && typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  if (kind === 'record' && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array) && !(value instanceof Date)) return value
  throw args.error(`option "${key}" must be ${kind === 'number' ? 'a non-negative number' : kind === 'record' ? 'an object' : `a ${kind}`}`)
}

function nested(args: Args, name: string, value: unknown, keys: Set<string>, kind: 'string' | 'number'): AwsOptions {
  const out: AwsOptions = {}
  for (const [key, inner] of Object.entries(value as AwsOptions)) {
    if (!keys.has(key)) throw args.error(`option "${name}.${key}" is not available to plugins (allowed: ${[...keys].join(', ')})`)
    if (inner === undefined || inner === null) continue
    out[key] = checked(args, `${name}.${key}`, kind, inner)
  }
  return out
}
