import { ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import Redis from 'ioredis'
import { Pool } from 'pg'
import { createIngestQueue, createLogger, createWorker, IngestBatch, QUEUES } from '@plugin-server/core'
import { countEvents, createTeam, insertEvents, migrate } from '@plugin-server/db'
import { freePort, startPostgresServer, startRedisServer, waitFor } from '@plugin-server/dev-services'
import { onceQueueIdle } from './once-queue-idle'
import { spawnRole } from './spawn-role'
import { printTable } from './table'
import { stopChildren } from './stop-children'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 60_000)
const PER_REQUEST = 100
const IN_FLIGHT = 8
/** e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' to see where capture / the ingest workers spend their time. */
const CAPTURE_NODE_ARGS = (process.env.BENCH_CAPTURE_NODE_ARGS ?? '').split(' ').filter(Boolean)
const WORKER_NODE_ARGS = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)

/** The body posthog-node sends to /batch/: 100 events, gzip'd. */
function batchBody(token: string, start: number): Buffer {
  const sentAt = new Date().toISOString()
  const batch = Array.from({ length: PER_REQUEST }, (_, i) => ({
    event: '$pageview',
    distinct_id: `user-${(start + i) % 1000}`,
    uuid: randomUUID(),
    timestamp: sentAt,
    type: 'capture',
    library: 'posthog-node',
    properties: { $lib: 'posthog-node', $lib_version: '5.0.0', $current_url: 'https://example.com/pricing', seq: start + i, $browser: 'Chrome' },
  }))
  return gzipSync(JSON.stringify({ api_key: token, batch, sent_at: sentAt }))
}

/** The same batches as BullMQ jobs straight into a worker that does nothing: the ceiling Redis allows. */
async function rawBullmq(redisUrl: string, bodies: number): Promise<number> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null })
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null })
  const config = { queuePrefix: '{bench-raw}', ingest: { attempts: 1 } }
  const queue = createIngestQueue(connection, config)
  await queue.obliterate({ force: true })
  let done = 0
  let resolveFinished!: () => void
  const finished = new Promise<void>((resolve) => (resolveFinished = resolve))
  const worker = createWorker<IngestBatch>(
    QUEUES.ingest,
    async () => {
      if (++done === bodies) resolveFinished()
    },
    workerConnection,
    config.queuePrefix,
    createLogger({ logLevel: 'warn', logFormat: 'json' }),
    { concurrency: 8 },
  )
  const events = Array.from({ length: PER_REQUEST }, (_, i) => ({
    uuid: randomUUID(),
    team_id: 1,
    event: '$pageview',
    distinct_id: `u${i}`,
    properties: { seq: i, $lib: 'posthog-node', $current_url: 'https://example.com/pricing' },
    timestamp: new Date().toISOString(),
    now: new Date().toISOString(),
    sent_at: null,
    ip: '127.0.0.1',
    site_url: '',
  }))
  const started = process.hrtime.bigint()
  for (let i = 0; i < bodies; i += IN_FLIGHT) {
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, bodies - i) }, () => queue.add('batch', { events })))
  }
  await finished
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  await worker.close()
  await queue.obliterate({ force: true })
  await queue.close()
  connection.disconnect()
  workerConnection.disconnect()
  return (bodies * PER_REQUEST) / seconds
}

/**
 * The same number of 100-event batches straight into insertEvents, 4 at a time (one ingest
 * worker's INGEST_CONCURRENCY), on this process's pool: what Postgres alone takes on this machine.
 */
async function postgresAlone(databaseUrl: string, bodies: number): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: 4 })
  try {
    await pool.query('TRUNCATE events')
    const team = await createTeam(pool, `bench postgres ${randomUUID()}`)
    const now = new Date().toISOString()
    const batch = (b: number) =>
      Array.from({ length: PER_REQUEST }, (_, i) => ({
        uuid: randomUUID(),
        team_id: team.id,
        event: '$pageview',
        distinct_id: `user-${(b * PER_REQUEST + i) % 1000}`,
        properties: { $lib: 'posthog-node', $lib_version: '5.0.0', $current_url: 'https://example.com/pricing', seq: b * PER_REQUEST + i, $browser: 'Chrome' },
        timestamp: now,
        now,
        sent_at: now,
        ip: '127.0.0.1',
        site_url: '',
      }))
    const work = Array.from({ length: bodies }, (_, b) => batch(b))
    await insertEvents(pool, batch(bodies))
    let next = 0
    const started = process.hrtime.bigint()
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < work.length) await insertEvents(pool, work[next++])
      }),
    )
    return (bodies * PER_REQUEST) / (Number(process.hrtime.bigint() - started) / 1e9)
  } finally {
    await pool.end()
  }
}

async function fullPath(redisUrl: string, databaseUrl: string, bodies: number, ingestWorkers: number): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: 2 })
  await pool.query('TRUNCATE events')
  const team = await createTeam(pool, `bench ${randomUUID()}`)
  const port = await freePort()
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
    CAPTURE_PORT: String(port),
    QUEUE_PREFIX: `{bench-${randomUUID().slice(0, 8)}}`,
    LOG_LEVEL: 'warn',
  }
  const children: ChildProcess[] = [spawnRole('capture', env, { nodeArgs: CAPTURE_NODE_ARGS })]
  for (let i = 0; i < ingestWorkers; i++) children.push(spawnRole('ingest-worker', env, { nodeArgs: WORKER_NODE_ARGS }))
  const url = `http://127.0.0.1:${port}/batch/`
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null })
  const queue = createIngestQueue(connection, { queuePrefix: env.QUEUE_PREFIX, ingest: { attempts: 1 } })
  try {
    await waitFor('capture', async () => (await fetch(`http://127.0.0.1:${port}/_health`)).ok, 30_000)
    const payloads = Array.from({ length: bodies }, (_, i) => batchBody(team.api_token, i * PER_REQUEST))
    const started = process.hrtime.bigint()
    let next = 0
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < payloads.length) {
          const body = payloads[next++]
          const res = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' } })
          if (res.status !== 200) throw new Error(`capture answered ${res.status}: ${await res.text()}`)
        }
      }),
    )
    await waitFor(
      'all events stored',
      onceQueueIdle(queue, async () => (await countEvents(pool, team.id)) >= bodies * PER_REQUEST),
      300_000,
    )
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    return (bodies * PER_REQUEST) / seconds
  } finally {
    await queue.close()
    connection.disconnect()
    await stopChildren(children)
    await pool.end()
  }
}

/**
 * Raw BullMQ's and Postgres' work one after the other: what a path doing both reaches if their
 * costs simply add up (cores all busy), derived, not measured. Their costs can also overlap
 * (Postgres waiting on fsync, an idle core), so a run may beat it.
 */
export function ceiling(raw: number, postgres: number): string[][] {
  const both = 1 / (1 / raw + 1 / postgres)
  return [['raw BullMQ then Postgres alone, costs added: 1 / (1/raw + 1/Postgres)', both.toFixed(0), (both / raw).toFixed(2)]]
}

export async function benchIngest(): Promise<void> {
  const redis = process.env.REDIS_URL ? null : await startRedisServer()
  const postgres = process.env.DATABASE_URL ? null : await startPostgresServer()
  const redisUrl = process.env.REDIS_URL ?? redis!.url
  const databaseUrl = process.env.DATABASE_URL ?? postgres!.url
  try {
    const pool = new Pool({ connectionString: databaseUrl, max: 1 })
    await migrate(pool)
    await pool.end()
    const bodies = Math.ceil(EVENTS / PER_REQUEST)
    process.stdout.write(`ingest: ${bodies * PER_REQUEST} events in gzip'd posthog-node batches of ${PER_REQUEST}, ${IN_FLIGHT} requests in flight\n`)
    const raw = await rawBullmq(redisUrl, bodies)
    const postgres = await postgresAlone(databaseUrl, bodies)
    const one = await fullPath(redisUrl, databaseUrl, bodies, 1)
    const two = await fullPath(redisUrl, databaseUrl, bodies, 2)
    printTable(
      ['path', 'events/s', 'ratio to raw BullMQ'],
      [
        ['raw BullMQ, no-op worker (baseline)', raw.toFixed(0), '1.00'],
        ['Postgres alone (insertEvents, the same batches, 4 at a time)', postgres.toFixed(0), (postgres / raw).toFixed(2)],
        ...ceiling(raw, postgres),
        ['capture → BullMQ → 1 ingest-worker → Postgres', one.toFixed(0), (one / raw).toFixed(2)],
        ['capture → BullMQ → 2 ingest-workers → Postgres', two.toFixed(0), (two / raw).toFixed(2)],
      ],
    )
  } finally {
    await redis?.stop()
    await postgres?.stop()
  }
}
