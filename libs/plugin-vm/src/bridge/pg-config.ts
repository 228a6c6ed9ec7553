import type { Args } from './args'
import type { PrivateKeys } from './private-keys'

type Kind = 'string' | 'port' | 'number' | 'boolean'

/** Constructor keys a plugin may set, and their types. Everything else (stream, types, Client, Promise, …) is refused. */
const CLIENT_KEYS: Record<string, Kind> = {
  host: 'string',
  port: 'port',
  user: 'string',
  database: 'string',
  application_name: 'string',
  fallback_application_name: 'string',
  options: 'string',
  statement_timeout: 'number',
  query_timeout: 'number',
  lock_timeout: 'number',
  idle_in_transaction_session_timeout: 'number',
  connectionTimeoutMillis: 'number',
  keepAlive: 'boolean',
  keepAliveInitialDelayMillis: 'number',
}
const POOL_KEYS: Record<string, Kind> = {
  ...CLIENT_KEYS,
  max: 'number',
  min: 'number',
  idleTimeoutMillis: 'number',
  maxUses: 'number',
  maxLifetimeSeconds: 'number',
}
/** Handled apart: a connection string is parsed here, a password never left for pg to look up. */
const SPECIAL_KEYS = new Set(['connectionString', 'password', 'ssl'])
/** `ssl` is plain data for tls.connect: certificates and checks, no sockets, callbacks or contexts. */
const SSL_KEYS = new Set(['rejectUnauthorized', 'ca', 'cert', 'key', 'passphrase', 'servername', 'minVersion', 'maxVersion'])
/** Connection string parameters; `sslcert`, `sslkey` and `sslrootcert` are refused because pg would read those files on the host. */
const URL_PARAMS = new Set(['host', 'port', 'user', 'password', 'ssl', 'sslmode', 'application_name', 'fallback_application_name', 'options'])

interface ConnectionStringParser {
  parse(text: string): Record<string, unknown>
}

let parser: ConnectionStringParser | undefined

/** pg's own parser, from pg's own dependencies, so a connection string means what it means to pg. */
function parseConnectionString(text: string): Record<string, unknown> {
  parser ??= require(require.resolve('pg-connection-string', { paths: [require.resolve('pg')] })) as ConnectionStringParser
  return { ...parser.parse(text) }
}

/**
 * A `new Client(config)` / `new Pool(config)` argument as pg gets it: allowlisted keys with checked
 * types, the connection string parsed here (its parameters allowlisted too), and the password always
 * given, so pg never falls back to the worker's PGPASSWORD or ~/.pgpass. A TLS client key (`ssl.key`)
 * is handed to pg decrypted (`privateKeys`, once per key), so TLS never runs its key derivation.
 */
export function pgConfig(args: Args, pool: boolean, privateKeys: PrivateKeys): Record<string, unknown> {
  const raw = args.at(0)
  const keys = pool ? POOL_KEYS : CLIENT_KEYS
  // Keys first, so `{ stream }` or `{ types }` is refused by name whatever its value.
  for (const key of raw !== null && typeof raw === 'object' ? Object.keys(raw) : []) {
    if (!SPECIAL_KEYS.has(key) && !Object.prototype.hasOwnProperty.call(keys, key)) {
      throw args.error(`config key "${key}" is not available to plugins (allowed: ${[...Object.keys(keys), ...SPECIAL_KEYS].join(', ')})`)
    }
  }
  const given: Record<string, unknown> = typeof raw === 'string' ? { connectionString: raw } : (args.record(0, 'config') ?? {})
  const { connectionString, ...rest } = given
  // As pg does: what the connection string says wins over the other keys.
  const merged: Record<string, unknown> = connectionString === undefined ? rest : { ...rest, ...fromConnectionString(args, connectionString) }
  const config: Record<string, unknown> = {}
  for (const [key, kind] of Object.entries(keys)) {
    const value = merged[key]
    if (value !== undefined && value !== null && value !== '') config[key] = checked(args, key, kind, value)
  }
  if (merged.password !== undefined && merged.password !== null && typeof merged.password !== 'string')
    throw args.error('config key "password" must be a string')
  const password = typeof merged.password === 'string' ? merged.password : ''
  config.password = () => password
  if (merged.ssl !== undefined) config.ssl = sslConfig(args, merged.ssl, privateKeys)
  return config
}

function fromConnectionString(args: Args, value: unknown): Record<string, unknown> {
  if (typeof value !== 'string') throw args.error('config key "connectionString" must be a string')
  for (const name of urlParams(value)) {
    if (!URL_PARAMS.has(name)) throw args.error(`connection string parameter "${name}" is not available to plugins (allowed: ${[...URL_PARAMS].join(', ')})`)
  }
  return parseConnectionString(value)
}

/** The parameter names pg-connection-string would see, read both ways it may read the string. */
function urlParams(text: string): string[] {
  const names: string[] = []
  for (const candidate of [text, encodeURI(text).replace(/%25(\d\d)/g, '%$1')]) {
    for (const variant of [candidate, candidate.replace('@/', '@___DUMMY___/')]) {
      try {
        for (const name of new URL(variant, 'postgres://base').searchParams.keys()) names.push(name)
      } catch {
        // Not a URL this way; pg-connection-string tries the other.
      }
    }
  }
  return names
}

function checked(args: Args, key: string, kind: Kind, value: unknown): unknown {
  if (kind === 'string' && typeof value === 'string') return value
  if (kind === 'boolean' && typeof value === 'boolean') return value
  if (kind === 'number' && typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  if (kind === 'port' && /^\d{1,5}$/.test(String(value))) return Number(value)
  throw args.error(`config key "${key}" must be ${kind === 'port' ? 'a port number' : kind === 'number' ? 'a non-negative number' : `a ${kind}`}`)
}

function sslConfig(args: Args, value: unknown, privateKeys: PrivateKeys): unknown {
  if (typeof value === 'boolean') return value
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw args.error('config key "ssl" must be a boolean or an object')
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    if (!SSL_KEYS.has(key)) throw args.error(`config key "ssl.${key}" is not available to plugins (allowed: ${[...SSL_KEYS].join(', ')})`)
    args.checkData(inner, `ssl.${key}`, 0)
    out[key] = inner
  }
  if (out.key !== undefined && out.key !== null) {
    out.key = sslKey(args, out.key, out.passphrase, privateKeys)
    delete out.passphrase
  }
  return out
}

/** `ssl.key` as tls.connect takes it (a PEM, or a list of PEMs and `{ pem, passphrase }`), each key decrypted. */
function sslKey(args: Args, key: unknown, passphrase: unknown, privateKeys: PrivateKeys): unknown {
  const unlock = (pem: unknown, pass: unknown, what: string) => privateKeys.unlock(pem, pass, what, (message) => args.error(message))
  if (!Array.isArray(key)) return unlock(key, passphrase, 'config key "ssl.key"')
  return key.map((item: unknown, i) => {
    if (item === null || typeof item !== 'object' || item instanceof Uint8Array) return unlock(item, passphrase, `config key "ssl.key[${i}]"`)
    const { pem, passphrase: own } = item as { pem?: unknown; passphrase?: unknown }
    return { pem: unlock(pem, own ?? passphrase, `config key "ssl.key[${i}].pem"`) }
  })
}

const QUERY_KEYS = new Set(['text', 'values', 'rowMode', 'name'])

/** `query(text, values?)` or `query({ text, values, rowMode, name })`: no custom types, no Submittable or cursor objects. */
export function pgQuery(args: Args): { text: string; values?: unknown[]; rowMode?: 'array'; name?: string } {
  const first = args.at(0)
  for (const key of first !== null && typeof first === 'object' ? Object.keys(first) : []) {
    if (!QUERY_KEYS.has(key)) throw args.error(`query key "${key}" is not available to plugins (allowed: ${[...QUERY_KEYS].join(', ')})`)
  }
  const config = typeof first === 'string' ? { text: first } : args.record(0, 'query')
  if (!config) throw args.error('expects a query text or { text, values }')
  if (typeof config.text !== 'string') throw args.error('query text must be a string')
  if (config.rowMode !== undefined && config.rowMode !== 'array') throw args.error('rowMode must be "array"')
  if (config.name !== undefined && typeof config.name !== 'string') throw args.error('query name must be a string')
  const values = args.at(1) !== undefined ? args.data(1, 'values') : config.values
  if (values !== undefined && values !== null && !Array.isArray(values)) throw args.error('values must be an array')
  return {
    text: config.text,
    ...(values ? { values: values as unknown[] } : {}),
    ...(config.rowMode ? { rowMode: 'array' as const } : {}),
    ...(config.name ? { name: config.name as string } : {}),
  }
}
