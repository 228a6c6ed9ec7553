import type { Args } from './args'
import { Callback } from './callback'

type Kind = 'string' | 'boolean' | 'number' | 'strings' | 'record'

/**
 * `createConnection(options)` keys a plugin may set. Refused by omission: privateKeyPath, tokenFilePath
 * and clientConfigFile (files on the server), proxy*, agentClass, browser and credential-cache options
 * (local listeners and files), sessionToken/masterToken, and anything else the SDK adds later.
 */
const CONNECTION_KEYS: Record<string, Kind> = {
  account: 'string',
  username: 'string',
  password: 'string',
  database: 'string',
  schema: 'string',
  warehouse: 'string',
  role: 'string',
  application: 'string',
  accessUrl: 'string',
  host: 'string',
  port: 'number',
  protocol: 'string',
  region: 'string',
  authenticator: 'string',
  privateKey: 'string',
  privateKeyPass: 'string',
  token: 'string',
  timeout: 'number',
  retryTimeout: 'number',
  sfRetryMaxLoginRetries: 'number',
  sfRetryMaxNumRetries: 'number',
  clientSessionKeepAlive: 'boolean',
  clientSessionKeepAliveHeartbeatFrequency: 'number',
  jsTreatIntegerAsBigInt: 'boolean',
  rowMode: 'string',
  fetchAsString: 'strings',
  queryTag: 'string',
  validateDefaultParameters: 'boolean',
  representNullAsStringNull: 'boolean',
  disableQueryContextCache: 'boolean',
  includeRetryReason: 'boolean',
}
/** Password, key pair and OAuth token; the others open browsers, local listeners or read server files. */
const AUTHENTICATORS = new Set(['SNOWFLAKE', 'SNOWFLAKE_JWT', 'OAUTH'])
const PROTOCOLS = new Set(['https', 'http'])
const ROW_MODES = new Set(['object', 'array', 'object_with_renamed_duplicated_columns'])

/**
 * A `createConnection` argument as the SDK gets it: allowlisted keys with checked types, and the
 * options that keep the SDK off the server's disk: no stage binding (binds would be written to
 * temporary files and uploaded), no credential cache, no console login.
 */
export function snowflakeConnectionOptions(args: Args, index: number): Record<string, unknown> {
  const given = args.record(index, 'options') ?? {}
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(given)) {
    const kind = Object.prototype.hasOwnProperty.call(CONNECTION_KEYS, key) ? CONNECTION_KEYS[key] : undefined
    if (kind === undefined) throw args.error(`option "${key}" is not available to plugins (allowed: ${Object.keys(CONNECTION_KEYS).join(', ')})`)
    if (value === undefined || value === null) continue
    out[key] = checked(args, `option "${key}"`, kind, value)
  }
  oneOf(args, 'authenticator', out.authenticator, AUTHENTICATORS, (v) => v.toUpperCase())
  oneOf(args, 'protocol', out.protocol, PROTOCOLS)
  oneOf(args, 'rowMode', out.rowMode, ROW_MODES)
  // 0 would mean "retry logins forever".
  if (out.retryTimeout === 0) throw args.error('option "retryTimeout" must be positive')
  // A PrivateLink host (<account>[.<region>].privatelink.<Snowflake domain>, from any of these) has the SDK
  // point process.env.SF_OCSP_RESPONSE_CACHE_SERVER_URL at it: every plugin's certificate checks in the worker.
  for (const key of ['host', 'accessUrl', 'account', 'region'] as const) {
    const value = out[key]
    if (typeof value === 'string' && /privatelink/i.test(value)) {
      throw args.error(
        `option "${key}" names a PrivateLink host, which is not available to plugins: the SDK would send every plugin's certificate checks on this server to it`,
      )
    }
  }
  return {
    ...out,
    arrayBindingThreshold: Number.MAX_SAFE_INTEGER,
    clientStoreTemporaryCredential: false,
    clientRequestMFAToken: false,
    disableConsoleLogin: true,
  }
}

const EXECUTE_KEYS: Record<string, Kind> = { sqlText: 'string', binds: 'record', fetchAsString: 'strings', rowMode: 'string', parameters: 'record' }

export interface ExecuteOptions {
  options: Record<string, unknown>
  complete?: Callback
}

/** `connection.execute({ sqlText, binds, complete })`: data only, and never PUT or GET (those read and write files on the server). */
export function snowflakeExecuteOptions(args: Args): ExecuteOptions {
  const raw = args.at(0)
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw args.error('expects { sqlText, binds?, complete? }')
  const { complete, ...rest } = raw as Record<string, unknown>
  if (complete !== undefined && !(complete instanceof Callback)) throw args.error('complete must be a function')
  const options: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(rest)) {
    const kind = Object.prototype.hasOwnProperty.call(EXECUTE_KEYS, key) ? EXECUTE_KEYS[key] : undefined
    if (kind === undefined)
      throw args.error(`execute option "${key}" is not available to plugins (allowed: ${[...Object.keys(EXECUTE_KEYS), 'complete'].join(', ')})`)
    if (value === undefined || value === null) continue
    args.checkData(value, key, 0)
    options[key] = key === 'binds' ? binds(args, value) : checked(args, `execute option "${key}"`, kind, value)
  }
  if (typeof options.sqlText !== 'string') throw args.error('sqlText must be a string')
  const verb = options.sqlText.trim().slice(0, 3).toUpperCase()
  if (verb === 'PUT' || verb === 'GET') throw args.error(`${verb} statements are not available to plugins: they read or write files on the server`)
  oneOf(args, 'rowMode', options.rowMode, ROW_MODES)
  return { options, complete: complete as Callback | undefined }
}

function binds(args: Args, value: unknown): unknown {
  if (!Array.isArray(value)) throw args.error('binds must be an array')
  return value
}

function oneOf(args: Args, key: string, value: unknown, allowed: Set<string>, normalize = (v: string) => v): void {
  if (value !== undefined && !allowed.has(normalize(String(value)))) throw args.error(`option "${key}" must be one of ${[...allowed].join(', ')}`)
}

function checked(args: Args, what: string, kind: Kind, value: unknown): unknown {
  if (kind === 'string' && typeof value === 'string') return value
  if (kind === 'boolean' && typeof value === 'boolean') return value
  if (kind === 'number' && typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  if (kind === 'strings' && Array.isArray(value) && value.every((v) => typeof v === 'string')) return value
  if (kind === 'record' && typeof value === 'object' && !Array.isArray(value)) return value
  const expected = { string: 'a string', boolean: 'a boolean', number: 'a non-negative number', strings: 'a list of strings', record: 'an object' }[kind]
  throw args.error(`${what} must be ${expected}`)
}
