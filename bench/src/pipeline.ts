import { ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import Redis from 'ioredis'
import { Pool } from 'pg'
import { createIngestQueue, createLogger, createWorker, IngestBatch, IngestEvent, QUEUES } from '@plugin-server/core'
import { countEvents, createTeam, insertEvents } from '@plugin-server/db'
import { freePort, waitFor } from '@plugin-server/dev-services'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { GeoIpLocator, RedisPluginCache, TeamRedisAccount } from '@plugin-server/plugin-runtime'
import { benchServices } from './bench-services'
import { spawnRole } from './spawn-role'
import { ceiling } from './ingest'
import { IsolateFloor } from './isolate-floor'
import { onceQueueIdle } from './once-queue-idle'
import { printTable } from './table'
import { benchManagement } from './bench-management'
import { StageTotals, workerMetrics, workerStages } from './worker-metrics'
import { stopChildren } from './stop-children'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000)
const PER_BATCH = 100
/** The ingest worker's default INGEST_CONCURRENCY: batches in flight at once. */
const CONCURRENCY = 4
/** e.g. BENCH_WORKER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to see where a worker spends its time. */
const WORKER_NODE_ARGS = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)
/** Ingest-worker processes draining the queue in each pipeline variant (BENCH_PIPELINE_WORKERS). */
const WORKERS = Number(process.env.BENCH_PIPELINE_WORKERS ?? 1)
const FIXTURES = path.resolve(__dirname, '../fixtures')
const IPS = ['89.160.20.128', '81.2.69.160', '216.160.83.56', '2.125.160.216', '175.16.199.0']

function batches(teamId: number): IngestBatch[] {
  const now = new Date().toISOString()
  return Array.from({ length: Math.ceil(EVENTS / PER_BATCH) }, (_, b) => ({
    events: Array.from({ length: PER_BATCH }, (_, i): IngestEvent => {
      const seq = b * PER_BATCH + i
      return {
        uuid: randomUUID(),
        team_id: teamId,
        event: '$pageview',
        distinct_id: `user-${seq % 1000}`,
        properties: {
          $lib: 'posthog-node',
          $lib_version: '5.0.0',
          $current_url: 'https://example.com/pricing',
          $browser: 'Chrome',
          $ip: IPS[seq % IPS.length],
          seq,
        },
        timestamp: now,
        now,
        sent_at: now,
        ip: '127.0.0.1',
        site_url: '',
      }
    }),
  }))
}

/** Adds every batch at once and waits until `done()` says they are all through: the same for every variant. */
async function timeDrain(redisUrl: string, prefix: string, work: IngestBatch[], done: () => Promise<boolean>): Promise<number> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null })
  const queue = createIngestQueue(connection, { queuePrefix: prefix, ingest: { attempts: 1 } })
  const started = process.hrtime.bigint()
  for (let i = 0; i < work.length; i += 100) await queue.addBulk(work.slice(i, i + 100).map((data) => ({ name: 'batch', data })))
  await waitFor('drained', onceQueueIdle(queue, done), 600_000)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  await queue.obliterate({ force: true }).catch(() => undefined)
  await queue.close()
  connection.disconnect()
  return EVENTS / seconds
}

async function raw(redisUrl: string, teamId: number): Promise<number> {
  const prefix = `{bench-raw-${randomUUID().slice(0, 8)}}`
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null })
  let processed = 0
  const worker = createWorker<IngestBatch>(
    QUEUES.ingest,
    async (job) => void (processed += job.data.events.length),
    connection,
    prefix,
    createLogger({ logLevel: 'warn', logFormat: 'json' }),
    {
      concurrency: CONCURRENCY,
    },
  )
  const rate = await timeDrain(redisUrl, prefix, batches(teamId), async () => processed >= EVENTS)
  await worker.close()
  connection.disconnect()
  return rate
}

/**
 * The same batches straight into insertEvents, CONCURRENCY at a time, on this process's pool: what
 * Postgres alone takes on this machine, the ceiling of any pipeline that stores them.
 */
async function postgresAlone(databaseUrl: string): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: CONCURRENCY })
  try {
    const team = await createTeam(pool, `bench postgres ${randomUUID()}`)
    const work = batches(team.id)
    // As for the pipeline variants: the first batch is a warm-up, not timed.
    await insertEvents(pool, batches(team.id)[0].events)
    let next = 0
    const started = process.hrtime.bigint()
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < work.length) await insertEvents(pool, work[next++].events)
      }),
    )
    return EVENTS / (Number(process.hrtime.bigint() - started) / 1e9)
  } finally {
    await pool.end()
  }
}

/** What each bench fixture's processEvent writes, without its host calls: the floor's three isolates run these. */
const FLOOR_PLUGINS = [
  `export function processEvent(event) { event.properties.bench_plan = event.properties.seq % 2 ? 'free' : 'pro'; event.properties.bench_processed = true; return event }`,
  `export function processEvent(event) { event.properties.bench_seen_before = event.properties.seen > 1; return event }`,
  `export function processEvent(event) { if (event.properties.country) event.properties.bench_country = event.properties.country; return event }`,
]

/**
 * The least the 3-plugin variant's plugins add to the pipeline, measured alone in this process: the
 * same batches, CONCURRENCY at a time, each with its events' Redis INCRs in one script call (the
 * plugin host's cache, `RedisPluginCache.incrMany`), each distinct address's GeoIP answer (the host's
 * cached JSON text) parsed once, and then three bare isolates (IsolateFloor: one JSON round trip per
 * plugin, the fixtures' property writes). No checks, limits, per-event results or crossings per host call.
 */
async function pluginsFloor(redisUrl: string): Promise<number> {
  const redis = new Redis(redisUrl, { enableAutoPipelining: true })
  const geoip = new GeoIpLocator('')
  const floor = new IsolateFloor(FLOOR_PLUGINS.length, (i) => FLOOR_PLUGINS[i])
  const prefix = `{bench-floor-${randomUUID().slice(0, 8)}}`
  const cache = new RedisPluginCache(redis, prefix, 0, new TeamRedisAccount(redis, prefix, 0, 256 * 1024 * 1024)) // the default PLUGIN_TEAM_REDIS_LIMIT_MB
  const one = async (events: IngestEvent[]) => {
    const seen = await cache.incrMany(events.map((e) => `seen:${e.distinct_id}`))
    const countries = new Map<string, string | null>()
    for (let i = 0; i < events.length; i++) {
      const ip = String(events[i].properties.$ip)
      let country = countries.get(ip)
      if (country === undefined) {
        const json = await geoip.locateJson(ip, 1)
        country = json === null ? null : ((JSON.parse(json) as { country?: { isoCode?: string } }).country?.isoCode ?? null)
        countries.set(ip, country)
      }
      events[i].properties.seen = seen[i]
      events[i].properties.country = country
    }
    await floor.run(events)
  }
  try {
    const work = batches(0)
    await one(batches(0)[0].events)
    let next = 0
    const started = process.hrtime.bigint()
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < work.length) await one(work[next++].events)
      }),
    )
    return EVENTS / (Number(process.hrtime.bigint() - started) / 1e9)
  } finally {
    floor.dispose()
    redis.disconnect()
  }
}

/** A pipeline variant: its events/s, and the worker's CPU (isolate threads included) per event while it drained. */
interface PipelineRun {
  eventsPerSecond: number
  workerCpuUsPerEvent: number
  /** From the worker's `ingest_stage_seconds` over the drain: where a batch's time went. */
  stages: StageFigures
}

/** Average milliseconds per observation of each stage, and events per pass through the steps. */
interface StageFigures {
  waitMs: number
  stepsMs: number
  storeMs: number
  eventsPerPass: number
}

function stageFigures(before: Map<string, StageTotals>, after: Map<string, StageTotals>): StageFigures {
  const delta = (stage: string): StageTotals => ({
    count: (after.get(stage)?.count ?? 0) - (before.get(stage)?.count ?? 0),
    seconds: (after.get(stage)?.seconds ?? 0) - (before.get(stage)?.seconds ?? 0),
  })
  const ms = (stage: string) => {
    const { count, seconds } = delta(stage)
    return count > 0 ? (seconds * 1000) / count : NaN
  }
  const passes = delta('steps').count
  return { waitMs: ms('wait'), stepsMs: ms('steps'), storeMs: ms('store'), eventsPerPass: passes > 0 ? EVENTS / passes : NaN }
}

async function pipeline(redisUrl: string, databaseUrl: string, plugins: string[], extraEnv: Record<string, string> = {}): Promise<PipelineRun> {
  const pool = new Pool({ connectionString: databaseUrl, max: 2 })
  const prefix = `{bench-${randomUUID().slice(0, 8)}}`
  const team = await createTeam(pool, `bench ${prefix}`)
  const redis = new Redis(redisUrl)
  const ctx = benchManagement(pool, redis, prefix)
  for (const [order, fixture] of plugins.entries()) {
    const installed = await installPluginFromPath(ctx, path.join(FIXTURES, fixture))
    await createConfig(ctx, { teamId: team.id, plugin: installed.plugin.id, enabled: true, order })
  }
  const ports: number[] = []
  for (let i = 0; i < WORKERS; i++) ports.push(await freePort())
  const workers: ChildProcess[] = ports.map((metricsPort) =>
    spawnRole(
      'ingest-worker',
      {
        ...process.env,
        REDIS_URL: redisUrl,
        DATABASE_URL: databaseUrl,
        QUEUE_PREFIX: prefix,
        LOG_LEVEL: 'warn',
        METRICS_PORT: String(metricsPort),
        ...extraEnv,
      },
      { nodeArgs: WORKER_NODE_ARGS, stdio: ['ignore', 'ignore', 'inherit'] },
    ),
  )
  const cpuSeconds = async () => {
    let total = 0
    for (const port of ports) total += (await workerMetrics(port)).get('process_cpu_seconds_total') ?? NaN
    return total
  }
  const stages = async () => (await Promise.all(ports.map(workerStages))).reduce(addStages)
  try {
    // Warm-up batches until every worker has run one: each has loaded the team's plugins, so every variant is timed warm.
    await timeDrainWarmup(redisUrl, prefix, team.id, pool, async () => {
      // A worker still starting has no /metrics yet: it has run nothing.
      const passes = await Promise.all(
        ports.map((port) =>
          workerStages(port).then(
            (stages) => stages.get('steps')?.count ?? 0,
            () => 0,
          ),
        ),
      )
      return passes.every((count) => count > 0)
    })
    const before = await countEvents(pool, team.id)
    const cpuBefore = await cpuSeconds()
    const stagesBefore = await stages()
    const eventsPerSecond = await timeDrain(redisUrl, prefix, batches(team.id), async () => (await countEvents(pool, team.id)) - before >= EVENTS)
    const workerCpuUsPerEvent = (((await cpuSeconds()) - cpuBefore) * 1e6) / EVENTS
    return { eventsPerSecond, workerCpuUsPerEvent, stages: stageFigures(stagesBefore, await stages()) }
  } finally {
    await stopChildren(workers)
    redis.disconnect()
    await pool.end()
  }
}

function addStages(a: Map<string, StageTotals>, b: Map<string, StageTotals>): Map<string, StageTotals> {
  const total = new Map(a)
  for (const [stage, { count, seconds }] of b) {
    const was = total.get(stage) ?? { count: 0, seconds: 0 }
    total.set(stage, { count: was.count + count, seconds: was.seconds + seconds })
  }
  return total
}

async function timeDrainWarmup(redisUrl: string, prefix: string, teamId: number, pool: Pool, everyWorkerWarm: () => Promise<boolean>): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null })
  const queue = createIngestQueue(connection, { queuePrefix: prefix, ingest: { attempts: 1 } })
  for (let sent = 1; ; sent++) {
    await queue.add('batch', batches(teamId)[0])
    await waitFor('warm-up batch stored', async () => (await countEvents(pool, teamId)) >= sent * PER_BATCH, 60_000)
    if (await everyWorkerWarm()) break
    if (sent === 100) throw new Error(`after ${sent} warm-up batches some ingest worker had still run none`)
  }
  await queue.close()
  connection.disconnect()
}

/**
 * Rounds of every measurement, one after another (BENCH_ROUNDS): a change in the shared machine's
 * load then falls on every variant, and the table shows each figure's median over the rounds.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

/** Everything one round measures. */
interface Round {
  baseline: number
  postgres: number
  none: PipelineRun
  noneWholeWorker: PipelineRun
  one: PipelineRun
  /** A plugin reading and writing meta.cache per event: its runs go to Redis as two script calls (readMany, setMany). */
  cacheReadWrite: PipelineRun
  three: PipelineRun
  floor: number
}

async function round(redisUrl: string, databaseUrl: string): Promise<Round> {
  const baseline = await raw(redisUrl, 1)
  const postgres = await postgresAlone(databaseUrl)
  const none = await pipeline(redisUrl, databaseUrl, [])
  // The bench's batches are all one team's, and by default a team gets half the worker's slots (TeamGate).
  const noneWholeWorker = await pipeline(redisUrl, databaseUrl, [], { INGEST_TEAM_CONCURRENCY: String(CONCURRENCY) })
  const one = await pipeline(redisUrl, databaseUrl, ['add-properties'])
  const cacheReadWrite = await pipeline(redisUrl, databaseUrl, ['cache-last-seen'])
  const three = await pipeline(redisUrl, databaseUrl, ['add-properties', 'cache-counter', 'geoip-country'])
  const floor = await pluginsFloor(redisUrl)
  return { baseline, postgres, none, noneWholeWorker, one, cacheReadWrite, three, floor }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

export async function benchPipeline(): Promise<void> {
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, got ${process.env.BENCH_ROUNDS}`)
  if (!Number.isInteger(WORKERS) || WORKERS < 1) throw new Error(`BENCH_PIPELINE_WORKERS must be a positive integer, got ${process.env.BENCH_PIPELINE_WORKERS}`)
  const services = await benchServices()
  try {
    process.stdout.write(
      `ingest pipeline: ${EVENTS} events of one team in batches of ${PER_BATCH} already in the queue, ${WORKERS === 1 ? 'one ingest-worker process' : `${WORKERS} ingest-worker processes (worker CPU and stages added up over them)`} (concurrency ${CONCURRENCY} each, team concurrency ${CONCURRENCY / 2} unless said), Postgres fsync on; each figure the median of ${ROUNDS} rounds\n`,
    )
    const rounds: Round[] = []
    for (let r = 0; r < ROUNDS; r++) rounds.push(await round(services.redisUrl, services.databaseUrl))
    const of = (pick: (r: Round) => number) => median(rounds.map(pick))
    const runOf = (pick: (r: Round) => PipelineRun): PipelineRun => ({
      eventsPerSecond: of((r) => pick(r).eventsPerSecond),
      workerCpuUsPerEvent: of((r) => pick(r).workerCpuUsPerEvent),
      stages: {
        waitMs: of((r) => pick(r).stages.waitMs),
        stepsMs: of((r) => pick(r).stages.stepsMs),
        storeMs: of((r) => pick(r).stages.storeMs),
        eventsPerPass: of((r) => pick(r).stages.eventsPerPass),
      },
    })
    const baseline = of((r) => r.baseline)
    const postgres = of((r) => r.postgres)
    const none = runOf((r) => r.none)
    const noneWholeWorker = runOf((r) => r.noneWholeWorker)
    const one = runOf((r) => r.one)
    const cacheReadWrite = runOf((r) => r.cacheReadWrite)
    const three = runOf((r) => r.three)
    const floor = of((r) => r.floor)
    // As for raw BullMQ and Postgres: on busy cores the plugins' least work and the no-plugin pipeline's add up.
    const threeCeiling = 1 / (1 / none.eventsPerSecond + 1 / floor)
    const variant = (name: string, run: PipelineRun) => [
      name,
      run.eventsPerSecond.toFixed(0),
      (run.eventsPerSecond / baseline).toFixed(2),
      (run.eventsPerSecond / none.eventsPerSecond).toFixed(2),
      run.workerCpuUsPerEvent.toFixed(1),
    ]
    printTable(
      ['variant', 'events/s', 'ratio to raw BullMQ', 'ratio to no plugins', 'worker CPU µs/event'],
      [
        ['raw BullMQ, no-op worker (baseline)', baseline.toFixed(0), '1.00', '', ''],
        [`Postgres alone (insertEvents, ${CONCURRENCY} batches at a time)`, postgres.toFixed(0), (postgres / baseline).toFixed(2), '', ''],
        ...ceiling(baseline, postgres).map((row) => [...row, '', '']),
        variant('pipeline, no plugins', none),
        variant(`pipeline, no plugins, INGEST_TEAM_CONCURRENCY=${CONCURRENCY} (the one team may take every slot)`, noneWholeWorker),
        variant('pipeline, 1 plugin (add properties)', one),
        variant('pipeline, 1 plugin (meta.cache get, then set with a TTL)', cacheReadWrite),
        variant('pipeline, 3 plugins (+ meta.cache, + geoip)', three),
        ["the 3 plugins' least work alone (3 bare isolates, the batch's INCRs in one script call, a GeoIP lookup per address)", floor.toFixed(0), '', '', ''],
        [
          'no-plugin pipeline then that least work, costs added: 1 / (1/none + 1/least)',
          threeCeiling.toFixed(0),
          (threeCeiling / baseline).toFixed(2),
          (threeCeiling / none.eventsPerSecond).toFixed(2),
          '',
        ],
      ],
    )
    const stageRow = (name: string, run: PipelineRun) => [
      name,
      run.stages.eventsPerPass.toFixed(0),
      run.stages.waitMs.toFixed(2),
      run.stages.stepsMs.toFixed(2),
      run.stages.storeMs.toFixed(2),
    ]
    process.stdout.write(`\nwhere a batch's time went (the worker's ingest_stage_seconds over the drain, averages; medians of the rounds):\n`)
    printTable(
      ['variant', 'events per pass', "wait for the team's slot, ms per batch", 'steps (plugins), ms per pass', 'store, ms per batch'],
      [stageRow('no plugins', none), stageRow('1 plugin', one), stageRow('1 plugin, cache get/set', cacheReadWrite), stageRow('3 plugins', three)],
    )
    const perRound = (pick: (r: Round) => number) => rounds.map((r) => pick(r).toFixed(2)).join(', ')
    process.stdout.write(
      `per round: no plugins / raw BullMQ ${perRound((r) => r.none.eventsPerSecond / r.baseline)}; 3 plugins / no plugins ${perRound((r) => r.three.eventsPerSecond / r.none.eventsPerSecond)}\n`,
    )
  } finally {
    await services.stop()
  }
}
