import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync } from 'node:crypto'

export interface InsertedRow {
  table: string
  json: Record<string, unknown>
  insertId?: string
}

export interface StandInRequest {
  method: string
  path: string
  authorization: string | undefined
  status: number
}

export interface StoredObject {
  bucket: string
  name: string
  /** The multipart upload body as sent (metadata part and contents). */
  body: string
}

type Reply = { status: number; body?: unknown }

const TABLE_PATH = /^\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/]+)\/tables(?:\/([^/]+))?(\/insertAll)?$/
const UPLOAD_PATH = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/

function apiError(status: number, message: string, reason: string): Reply {
  return { status, body: { error: { code: status, message, errors: [{ reason, message }] } } }
}

/**
 * A local stand-in of the Google APIs the exports use, on 127.0.0.1: BigQuery's REST API (tables
 * get, create, patch, tabledata.insertAll), Cloud Storage's multipart upload and the OAuth token
 * endpoint a service account key's `token_uri` names. It records inserted rows and uploads, checks
 * every API call carries the token it issued, answers 503 to the next `failInserts(n)` inserts, and
 * refuses rows with `invalid: true` (insertErrors, a partial failure).
 */
export class BigQueryServer {
  readonly requests: StandInRequest[] = []
  readonly rows: InsertedRow[] = []
  readonly objects: StoredObject[] = []
  readonly tables = new Map<string, Record<string, unknown>>()
  tokensIssued = 0
  private failing = 0
  private readonly token = `stand-in-${Math.random().toString(36).slice(2)}`
  private readonly server = http.createServer((req, res) => this.handle(req, res))
  private readonly privateKey = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    return this.url
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  /** A service account key file as Google issues them, whose token_uri is this server. */
  keyJson(projectId = 'stand-in-project'): string {
    return JSON.stringify({
      type: 'service_account',
      project_id: projectId,
      private_key_id: 'stand-in-key',
      private_key: this.privateKey,
      client_email: `exporter@${projectId}.iam.gserviceaccount.com`,
      client_id: '1',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: `${this.url}/token`,
    })
  }

  /** The next `count` insertAll calls answer 503 backendError (nothing is stored). */
  failInserts(count: number): void {
    this.failing = count
  }

  rowsOf(table: string): Record<string, unknown>[] {
    return this.rows.filter((r) => r.table === table).map((r) => r.json)
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in')
      const text = Buffer.concat(chunks).toString('utf8')
      let reply: Reply
      try {
        reply = this.answer(req.method ?? 'GET', url, req.headers.authorization, text)
      } catch (error) {
        reply = apiError(400, `stand-in could not read the request: ${(error as Error).message}`, 'invalid')
      }
      this.requests.push({ method: req.method ?? 'GET', path: url.pathname, authorization: req.headers.authorization, status: reply.status })
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body === undefined ? '' : JSON.stringify(reply.body))
    })
  }

  private answer(method: string, url: URL, authorization: string | undefined, text: string): Reply {
    if (url.pathname === '/token' && method === 'POST') {
      const form = new URLSearchParams(text)
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !form.get('assertion')) return apiError(400, 'bad grant', 'invalid_grant')
      this.tokensIssued++
      return { status: 200, body: { access_token: this.token, expires_in: 3600, token_type: 'Bearer' } }
    }
    if (authorization !== `Bearer ${this.token}`) return apiError(401, 'Request had invalid authentication credentials.', 'authError')
    const upload = UPLOAD_PATH.exec(url.pathname)
    if (upload && method === 'POST') {
      const name = url.searchParams.get('name') ?? /"name":"([^"]+)"/.exec(text)?.[1] ?? ''
      this.objects.push({ bucket: decodeURIComponent(upload[1]), name, body: text })
      return { status: 200, body: { kind: 'storage#object', bucket: decodeURIComponent(upload[1]), name } }
    }
    const match = TABLE_PATH.exec(url.pathname)
    if (!match) return apiError(404, `Not found: ${method} ${url.pathname}`, 'notFound')
    const [, project, dataset, tableId, insertAll] = match
    if (tableId === undefined && method === 'POST') return this.createTable(project, dataset, JSON.parse(text) as Record<string, unknown>)
    const key = `${project}:${dataset}.${tableId}`
    const table = this.tables.get(key)
    if (!table) return apiError(404, `Not found: Table ${key}`, 'notFound')
    if (insertAll && method === 'POST') return this.insert(key, JSON.parse(text) as { rows: { json: Record<string, unknown>; insertId?: string }[] })
    if (method === 'GET') return { status: 200, body: table }
    if (method === 'PATCH' || method === 'PUT') {
      Object.assign(table, JSON.parse(text))
      return { status: 200, body: table }
    }
    return apiError(405, `${method} is not supported by the stand-in`, 'invalid')
  }

  private createTable(project: string, dataset: string, body: Record<string, unknown>): Reply {
    const ref = body.tableReference as { tableId: string }
    const key = `${project}:${dataset}.${ref.tableId}`
    if (this.tables.has(key)) return apiError(409, `Already Exists: Table ${key}`, 'duplicate')
    const table = { kind: 'bigquery#table', id: key, ...body }
    this.tables.set(key, table)
    return { status: 200, body: table }
  }

  private insert(table: string, body: { rows: { json: Record<string, unknown>; insertId?: string }[] }): Reply {
    if (this.failing > 0) {
      this.failing--
      return apiError(503, 'The service is currently unavailable.', 'backendError')
    }
    // A row with `invalid: true` is refused as BigQuery refuses a row with an unknown field; the others are stored.
    const insertErrors = body.rows.flatMap((row, index) =>
      row.json.invalid === true ? [{ index, errors: [{ reason: 'invalid', location: 'invalid', message: 'no such field: invalid.' }] }] : [],
    )
    for (const row of body.rows) if (row.json.invalid !== true) this.rows.push({ table, json: row.json, insertId: row.insertId })
    return { status: 200, body: { kind: 'bigquery#tableDataInsertAllResponse', ...(insertErrors.length ? { insertErrors } : {}) } }
  }
}
