import { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import path from 'node:path'
import Redis from 'ioredis'
import { Pool } from 'pg'
import { createTeam } from '@plugin-server/db'
import { freePort, waitFor } from '@plugin-server/dev-services'
import { addToExportSeries, EXPORT_SERIES_BUCKET_MS } from '@plugin-server/export'
import { installPluginFromPath } from '@plugin-server/management'
import { benchServices } from './bench-services'
import { spawnRole } from './spawn-role'
import { printTable } from './table'
import { benchManagement } from './bench-management'
import { stopChildren } from './stop-children'

const REQUESTS = Number(process.env.BENCH_ADMIN_REQUESTS ?? 3000)
/** A dry run costs milliseconds where a read costs a fraction of one. */
const TRY_REQUESTS = Math.max(10, Math.round(REQUESTS / 30))
const WARMUP = 50
const CONCURRENCY = 8
/** Endpoints take turns in rounds, so a burst of load from elsewhere on the machine is spread over all of them. */
const ROUNDS = 3
const LOG_ROWS = 10_000
const STATUS_EVERY_S = 3
const LOGS_EVERY_S = 1
const STATUS = 'GET /api/configs/:id/status'
const SERIES = 'GET /api/configs/:id/export-series?minutes=60'
const LOG_POLL = 'GET /api/configs/:id/logs?after=<latest id>'
const TOKEN = `bench-operator-${randomBytes(12).toString('hex')}`
const FIXTURE = path.resolve(__dirname, '../../test/fixtures/plugins/ui-enricher')

interface Call {
  method: 'GET' | 'POST'
  path: string
  body?: string
}

interface Reply {
  status: number
  text: string
}

interface Endpoint {
  name: string
  call: Call
  requests: number
  concurrent: boolean
  /** What a 200 must hold, so a fast wrong answer is not timed as a fast right one. */
  check: (text: string) => boolean
}

interface Sample {
  latenciesMs: number[]
  seconds: number
}

interface Result {
  rate: number
  p50: number
  p99: number
}

/** node:http with a keep-alive agent: lighter on the shared cores than fetch, and one socket per request in flight, as a browser holds. */
class Client {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })

  constructor(private readonly port: number) {}

  request(call: Call): Promise<Reply> {
    const body = call.body === undefined ? undefined : Buffer.from(call.body)
    const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${TOKEN}` }
    if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': body.length })
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method: call.method, path: call.path, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  async expect(call: Call, status: number): Promise<string> {
    const reply = await this.request(call)
    if (reply.status !== status) throw new Error(`${call.method} ${call.path} answered ${reply.status}: ${reply.text.slice(0, 500)}`)
    return reply.text
  }

  close(): void {
    this.agent.destroy()
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

async function drive(client: Client, endpoint: Endpoint, requests: number, concurrency: number, into: Sample): Promise<void> {
  let sent = 0
  const started = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < requests) {
        sent++
        const t0 = process.hrtime.bigint()
        const reply = await client.request(endpoint.call)
        if (reply.status !== 200) throw new Error(`${endpoint.name} answered ${reply.status}: ${reply.text.slice(0, 500)}`)
        into.latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6)
      }
    }),
  )
  into.seconds += Number(process.hrtime.bigint() - started) / 1e9
}

async function measure(client: Client, endpoints: Endpoint[], concurrency: number): Promise<Map<string, Result>> {
  const samples = new Map(endpoints.map((e) => [e.name, { latenciesMs: [], seconds: 0 } as Sample]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const e of endpoints) await drive(client, e, Math.ceil(e.requests / ROUNDS), concurrency, samples.get(e.name)!)
  }
  return new Map(
    [...samples].map(([name, s]) => {
      const sorted = [...s.latenciesMs].sort((a, b) => a - b)
      return [name, { rate: sorted.length / s.seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) }]
    }),
  )
}

/** Lines like the ones ui-enricher and the runtime write; one in 500 mentions foo, so a search for it reads every row of the config. */
async function writeLogRows(pool: Pool, teamId: number, pluginId: number, configId: number): Promise<number> {
  await pool.query(
    `INSERT INTO plugin_log_entries (team_id, plugin_id, plugin_config_id, timestamp, source, type, message, instance_id)
     SELECT $1, $2, $3, now() - ($4 - i) * interval '360 ms',
       CASE WHEN i % 100 = 0 THEN 'SYSTEM' WHEN i % 10 = 0 THEN 'PLUGIN' ELSE 'CONSOLE' END,
       CASE WHEN i % 500 = 0 THEN 'ERROR' WHEN i % 7 = 0 THEN 'WARN' WHEN i % 10 = 0 THEN 'INFO' ELSE 'LOG' END,
       CASE WHEN i % 500 = 0 THEN 'exportEvents failed: POST https://foo.example.invalid/sink answered 503'
            WHEN i % 7 = 0 THEN 'no lookup entry for user-' || (i % 1000)
            ELSE 'enriched $pageview of user-' || (i % 1000) END,
       'bench-worker-' || (i % 4)
     FROM generate_series(1, $4) i`,
    [teamId, pluginId, configId, LOG_ROWS],
  )
  const { rows } = await pool.query<{ id: string }>('SELECT max(id) AS id FROM plugin_log_entries WHERE plugin_config_id = $1', [configId])
  return Number(rows[0].id)
}

/** An hour of per-minute export counts, as an exporter that delivers steadily leaves them. */
async function writeExportSeries(redis: Redis, prefix: string, configId: number): Promise<void> {
  const pipeline = redis.pipeline()
  for (let i = 0; i < 60; i++) {
    addToExportSeries(
      pipeline,
      prefix,
      configId,
      { events_seen: 1200, events_delivered_successfully: 1190, retry_errors: 10 },
      Date.now() - i * EXPORT_SERIES_BUCKET_MS,
    )
  }
  await pipeline.exec()
}

function endpoints(teamId: number, configId: number, latestLogId: number): Endpoint[] {
  const config = `/api/configs/${configId}`
  const tryBody = JSON.stringify({
    event: { event: '$pageview', distinct_id: 'user-1', properties: { $current_url: 'https://example.com/pricing', $browser: 'Chrome' } },
    target: { plugin_config_id: configId },
  })
  const read = (name: string, p: string, check: (text: string) => boolean): Endpoint => ({
    name,
    call: { method: 'GET', path: p },
    requests: REQUESTS,
    concurrent: true,
    check,
  })
  return [
    read('GET /api/me (baseline)', '/api/me', (t) => t.includes('operator')),
    read('GET /api/configs/:id', config, (t) => t.includes('"plugin_name":"ui-enricher"')),
    read(STATUS, `${config}/status`, (t) => t.includes('"setup"') && t.includes('foo.example.invalid')),
    read(LOG_POLL, `${config}/logs?after=${latestLogId}`, (t) => t === '[]'),
    read('GET /api/configs/:id/logs?search=foo', `${config}/logs?search=foo`, (t) => (JSON.parse(t) as unknown[]).length === LOG_ROWS / 500),
    read(SERIES, `${config}/export-series?minutes=60`, (t) => t.includes('"events_seen":1200')),
    {
      name: 'POST /api/teams/:teamId/try',
      call: { method: 'POST', path: `/api/teams/${teamId}/try`, body: tryBody },
      requests: TRY_REQUESTS,
      concurrent: false,
      check: (t) => t.includes('"greeting":"HELLO"') && !t.includes('"error":"'),
    },
  ]
}

async function startCapture(redisUrl: string, databaseUrl: string, prefix: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort()
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: prefix,
    CAPTURE_HOST: '127.0.0.1',
    CAPTURE_PORT: String(port),
    ADMIN_API_TOKEN: TOKEN,
    // ui-enricher has a secret field, which is refused without a key.
    PLUGIN_SECRETS_KEYS: process.env.PLUGIN_SECRETS_KEYS ?? `bench:${randomBytes(32).toString('base64')}`,
    // The default level: every admin request writes its audit line, as in production.
    LOG_LEVEL: 'info',
  }
  const child = spawnRole('capture', env, { stdio: ['ignore', 'ignore', 'inherit'] })
  await waitFor('capture', async () => (await fetch(`http://127.0.0.1:${port}/_health`).catch(() => null))?.ok === true, 30_000)
  return { child, port }
}

/** Each open page costs the process 1/(3·rate) s per second for status and for export-series (the Status tab polls both), plus 1/rate for the log poll. */
function pages(results: Map<string, Result>): number {
  const rate = (name: string) => results.get(name)!.rate
  return 1 / (1 / (STATUS_EVERY_S * rate(STATUS)) + 1 / (STATUS_EVERY_S * rate(SERIES)) + 1 / (LOGS_EVERY_S * rate(LOG_POLL)))
}

function printResults(title: string, list: Endpoint[], results: Map<string, Result>): void {
  const baseline = results.get(list[0].name)!.rate
  process.stdout.write(`${title}\n`)
  printTable(
    ['endpoint', 'requests/s', 'p50 ms', 'p99 ms', 'ratio to /api/me'],
    list
      .filter((e) => results.has(e.name))
      .map((e) => {
        const r = results.get(e.name)!
        return [e.name, r.rate.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), (r.rate / baseline).toFixed(3)]
      }),
  )
}

/** The admin API as the web UI uses it, on one capture process: reads a tab polls, a log search, and Try-it dry runs. */
export async function benchAdminApi(): Promise<void> {
  const services = await benchServices()
  const pool = new Pool({ connectionString: services.databaseUrl, max: 2 })
  const redis = new Redis(services.redisUrl)
  const prefix = `{bench-admin-${randomBytes(4).toString('hex')}}`
  let capture: ChildProcess | null = null
  let client: Client | null = null
  try {
    const team = await createTeam(pool, `bench ${prefix}`)
    const installed = await installPluginFromPath(benchManagement(pool, redis, prefix), FIXTURE)
    const started = await startCapture(services.redisUrl, services.databaseUrl, prefix)
    capture = started.child
    client = new Client(started.port)
    // Created through the API, so only the capture process needs the secrets key.
    const created = await client.expect(
      {
        method: 'POST',
        path: `/api/teams/${team.id}/configs`,
        body: JSON.stringify({
          plugin_id: installed.plugin.id,
          enabled: true,
          config: { greeting: 'hello', apiKey: `bench-${randomBytes(8).toString('hex')}` },
          attachments: {
            lookup: { file_name: 'lookup.csv', content_type: 'text/csv', contents_base64: Buffer.from('user-1,pro\nuser-2,free\n').toString('base64') },
          },
        }),
      },
      201,
    )
    const configId = (JSON.parse(created) as { id: number }).id
    const latestLogId = await writeLogRows(pool, team.id, installed.plugin.id, configId)
    await writeExportSeries(redis, prefix, configId)
    const list = endpoints(team.id, configId, latestLogId)
    for (const e of list) {
      for (let i = 0; i < (e.concurrent ? WARMUP : 3); i++) {
        const text = await client.expect(e.call, 200)
        if (!e.check(text)) throw new Error(`${e.name} answered something unexpected: ${text.slice(0, 500)}`)
      }
    }

    process.stdout.write(
      `\nadmin API: one capture process (LOG_LEVEL=info), operator token, keep-alive HTTP; config of ui-enricher with ${LOG_ROWS} log rows; ` +
        `${REQUESTS} requests per read endpoint, ${TRY_REQUESTS} dry runs, in ${ROUNDS} interleaved rounds\n\n`,
    )
    const sequential = await measure(client, list, 1)
    const concurrent = await measure(
      client,
      list.filter((e) => e.concurrent),
      CONCURRENCY,
    )
    printResults('one request at a time', list, sequential)
    printResults(`${CONCURRENCY} requests in flight (dry runs: at most 2 at once by design, not measured)`, list, concurrent)
    printTable(
      ['open pages one process can serve (status + export-series every 3 s, logs?after every 1 s)', 'pages'],
      [
        [`from the ${CONCURRENCY}-in-flight rates (the process's capacity)`, pages(concurrent).toFixed(0)],
        ['from the one-at-a-time rates', pages(sequential).toFixed(0)],
      ],
    )
  } finally {
    client?.close()
    if (capture) {
      await stopChildren([capture])
    }
    redis.disconnect()
    await pool.end()
    await services.stop()
  }
}
