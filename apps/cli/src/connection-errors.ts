/** Socket errors that mean "could not reach the server", as Node and pg report them. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'])

interface SocketError extends Error {
  code?: string
  port?: number
  hostname?: string
  errors?: SocketError[]
}

interface Endpoint {
  variable: 'DATABASE_URL' | 'REDIS_URL'
  what: string
  url: string
}

/**
 * Turns "connect ECONNREFUSED 127.0.0.1:5432" into an error that says which server it was and
 * which variable points at it (or that it is unset and the default was used). The URL is shown as host:port only: it may hold a password.
 */
export function nameConnectionVariable(
  err: unknown,
  urls: { databaseUrl: string; redisUrl: string },
  env: Readonly<Record<string, string | undefined>> = process.env,
): unknown {
  if (!(err instanceof Error)) return err
  const e = err as SocketError
  const database: Endpoint = { variable: 'DATABASE_URL', what: 'Postgres', url: urls.databaseUrl }
  const redis: Endpoint = { variable: 'REDIS_URL', what: 'Redis', url: urls.redisUrl }
  let endpoint: Endpoint | null = null
  // ioredis gives up on a command without saying where it tried to connect.
  if (/max retries per request|Connection is closed|Stream isn't writeable/.test(e.message)) endpoint = redis
  // Postgres answered but refused: bad password (28xxx) or no such database (3D000).
  else if (typeof e.code === 'string' && (/^28/.test(e.code) || e.code === '3D000')) endpoint = database
  else {
    const socket = [e, ...(e.errors ?? [])].find((x) => typeof x.code === 'string' && UNREACHABLE.has(x.code))
    if (socket) endpoint = [database, redis].find((candidate) => matches(candidate.url, socket)) ?? null
  }
  if (endpoint === null) return err
  // Unset (or empty), the variable did not choose the address: the built-in default did.
  const set = (env[endpoint.variable] ?? '') !== ''
  const from = set ? `set by ${endpoint.variable}` : `the default: ${endpoint.variable} is not set`
  return new Error(`cannot reach ${endpoint.what} at ${hostPort(endpoint.url)} (${from}): ${e.message}`, { cause: err })
}

function matches(url: string, socket: SocketError): boolean {
  try {
    const u = new URL(url)
    const port = Number(u.port || (u.protocol.startsWith('redis') ? 6379 : 5432))
    if (socket.port !== undefined) return socket.port === port
    return socket.hostname !== undefined && socket.hostname === u.hostname
  } catch {
    return false
  }
}

function hostPort(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)}`
  } catch {
    return '(unparseable URL)'
  }
}
