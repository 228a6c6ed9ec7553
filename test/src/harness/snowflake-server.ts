import http from 'node:http'
import { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

export interface SnowflakeQuery {
  sqlText: string
  bindings: unknown
}

/** A local stand-in for Snowflake's REST API. */
export interface FakeSnowflake {
  url: string
  port: number
  queries: SnowflakeQuery[]
  logins: number
  /** The JWT of each key-pair login (`authenticator: 'SNOWFLAKE_JWT'`), signed with the plugin's key. */
  loginTokens: string[]
  /** Sessions closed (`connection.destroy()` logs out). */
  logouts: number
  /** Keep-alive calls (`/session/heartbeat`). */
  heartbeats: number
  /** The `X-Snowflake-Service` header of each request that had one (the SDK sends its SERVICE_NAME parameter there). */
  serviceHeaders: string[]
  close: () => Promise<void>
}

/**
 * Parameters a Snowflake login answer may list that snowflake-sdk applies to every connection in
 * its process (its `lib/parameters.js`): what a plugin's own server would answer to reach others.
 */
export const PROCESS_WIDE_LOGIN_PARAMETERS = [
  { name: 'SERVICE_NAME', value: 'hijacked' },
  { name: 'CLIENT_SESSION_KEEP_ALIVE', value: true },
  { name: 'CLIENT_SESSION_KEEP_ALIVE_HEARTBEAT_FREQUENCY', value: 1 },
  { name: 'JS_TREAT_INTEGER_AS_BIGINT', value: true },
  { name: 'MULTI_STATEMENT_COUNT', value: 0 },
]

export interface FakeSnowflakeOptions {
  /** What the login answer sends as the session's parameters (Snowflake's `{ name, value }` list). */
  loginParameters?: { name: string; value: unknown }[]
}

/**
 * Enough of Snowflake's REST API for the real snowflake-sdk to log in, run statements and log
 * out: the requests are the SDK's own, the answers Snowflake's JSON shapes (every statement
 * answers one row, N = 7). `port` 0 picks a free one.
 */
export async function startFakeSnowflake(port = 0, options: FakeSnowflakeOptions = {}): Promise<FakeSnowflake> {
  const state = { queries: [] as SnowflakeQuery[], loginTokens: [] as string[], logins: 0, logouts: 0, heartbeats: 0, serviceHeaders: [] as string[] }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString()
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {}
      const send = (data: unknown) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success: true, code: null, message: null, data }))
      const path = req.url ?? ''
      const service = req.headers['x-snowflake-service']
      if (typeof service === 'string') state.serviceHeaders.push(service)
      if (path.startsWith('/session/v1/login-request')) {
        state.logins++
        const token = (body.data as { TOKEN?: unknown } | undefined)?.TOKEN
        if (typeof token === 'string') state.loginTokens.push(token)
        return send({ token: 't', masterToken: 'm', sessionId: 1, parameters: options.loginParameters ?? [] })
      }
      if (path.startsWith('/session/heartbeat')) {
        state.heartbeats++
        return send({})
      }
      if (path.startsWith('/queries/v1/query-request')) {
        state.queries.push({ sqlText: String(body.sqlText), bindings: body.bindings })
        return send({
          parameters: [],
          rowtype: [{ name: 'N', type: 'fixed', nullable: false, scale: 0, precision: 38, length: null, byteLength: null }],
          rowset: [['7']],
          total: 1,
          returned: 1,
          queryId: `q-${state.queries.length}`,
          statementTypeId: 4096,
          version: 1,
          queryResultFormat: 'json',
        })
      }
      if (path.startsWith('/session')) {
        if (path.includes('delete=true')) state.logouts++
        return send({})
      }
      res.writeHead(404).end()
    })
  })
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve))
  const bound = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    get queries() {
      return state.queries
    },
    get logins() {
      return state.logins
    },
    get loginTokens() {
      return state.loginTokens
    },
    get logouts() {
      return state.logouts
    },
    get heartbeats() {
      return state.heartbeats
    },
    get serviceHeaders() {
      return state.serviceHeaders
    },
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  }
}
