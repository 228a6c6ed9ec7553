import { ChildProcess, execFile } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import Redis from 'ioredis'
import { Pool } from 'pg'
import { createIngestQueue, IngestBatch, IngestEvent } from '@plugin-server/core'
import { freePort, waitFor } from '@plugin-server/dev-services'
import { installPluginFromPath } from '@plugin-server/management'
import { benchManagement } from './bench-management'
import { spawnRole } from './spawn-role'
import { benchServices } from './bench-services'
import { printTable } from './table'
import { workerMetrics } from './worker-metrics'
import { stopChildren } from './stop-children'

const COUNTS = (process.env.BENCH_CONFIGS ?? '100,1000').split(',').map(Number)
const RUNS = Number(process.env.BENCH_CONFIGS_RUNS ?? 1)
/** `on,off` also measures workers without the runtime's startup snapshot (PLUGIN_RUNTIME_SNAPSHOT=false), in the same run. */
const SNAPSHOT = (process.env.BENCH_CONFIGS_SNAPSHOT ?? 'on').split(',').map((v) => v === 'on')
const BARE = path.resolve(__dirname, 'bare-isolates.js')
/** e.g. BENCH_WORKER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to see where the worker spends the load. */
const WORKER_NODE_ARGS = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)
/**
 * Batches (an event per team each) sent after the load, so every config has run this many more times
 * when RSS is read again: an isolate's RSS grows for hundreds of calls after its load (its heap fills
 * with garbage up to V8's next full collection, the optimizing compilers' code and memory), and a pod
 * is sized for configs that have been running for days, not for freshly loaded ones. 0: not measured.
 */
const AGE_BATCHES = Number(process.env.BENCH_CONFIGS_AGE_BATCHES ?? 300)
const MB = 1024 * 1024

const PLUGIN = `export function processEvent(event) { event.properties.configs_bench = true; return event }`

interface Figures {
  configs: number
  /** Worker RSS at /readyz, before any config was loaded (the bare isolate's: the process before its isolates). */
  idleRssMb: number
  rssMb: number
  heapMb: number
  /** From the first batch touching every team to every team's event stored (the bare isolate's: creating them). */
  loadMs: number
  /** Isolates the worker held when every event was stored. */
  live: number
  /** After AGE_BATCHES more batches (NaN: not measured). */
  agedRssMb: number
  /** `plugin_process_memory_bytes` then: the heap above idle the process budget counts. */
  agedCountedMb: number
}

/** Waits until `count` events of these teams are stored. Polled at 200 ms (not faster): every poll is a query the worker's Postgres also serves. */
async function storedAtLeast(pool: Pool, teamIds: number[], count: number): Promise<void> {
  while ((await stored(pool, teamIds)).all < count) await new Promise((r) => setTimeout(r, 200))
}

/** Events of these teams stored, and how many of them carry the plugin's property (went through their config). */
async function stored(pool: Pool, teamIds: number[]): Promise<{ all: number; processed: number }> {
  const { rows } = await pool.query<{ all: string; processed: string }>(
    `SELECT count(*) AS all, count(*) FILTER (WHERE properties ? 'configs_bench') AS processed FROM events WHERE team_id = ANY($1::int[])`,
    [teamIds],
  )
  return { all: Number(rows[0].all), processed: Number(rows[0].processed) }
}

/** Why configs did not run: the first few warnings and errors they logged. */
async function problems(pool: Pool, teamIds: number[]): Promise<string[]> {
  const { rows } = await pool.query<{ message: string }>(
    `(SELECT DISTINCT left(message, 300) AS message FROM plugin_log_entries WHERE team_id = ANY($1::int[]) AND type IN ('WARN', 'ERROR') LIMIT 5)
     UNION ALL (SELECT left(properties::text, 300) FROM events WHERE team_id = ANY($1::int[]) AND NOT properties ? 'configs_bench' LIMIT 1)`,
    [teamIds],
  )
  return rows.map((r) => r.message)
}

function event(teamId: number): IngestEvent {
  const now = new Date().toISOString()
  return {
    uuid: randomUUID(),
    team_id: teamId,
    event: '$pageview',
    distinct_id: 'configs-bench',
    properties: { $current_url: 'https://example.com/' },
    timestamp: now,
    now,
    sent_at: now,
    ip: '127.0.0.1',
    site_url: '',
  }
}

/**
 * One ingest worker with `count` enabled configs of the trivial plugin, one team each (so every
 * config is a loaded isolate once its team has had an event). Configs load lazily, on their team's
 * first batch: the clock runs from adding one batch holding an event of every team to all of them
 * stored, which needs every config loaded and its processEvent run.
 */
async function worker(services: { redisUrl: string; databaseUrl: string }, pool: Pool, redis: Redis, count: number, snapshot: boolean): Promise<Figures> {
  const prefix = `{bench-configs-${randomBytes(4).toString('hex')}}`
  // The previous measurement's configs are disabled: this worker loads exactly `count`.
  await pool.query('UPDATE plugin_configs SET enabled = false')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-configs-'))
  fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify({ name: `bench-configs-${randomBytes(3).toString('hex')}`, config: [] }))
  fs.writeFileSync(path.join(dir, 'index.ts'), PLUGIN)
  const installed = await installPluginFromPath(benchManagement(pool, redis, prefix), dir)
  fs.rmSync(dir, { recursive: true, force: true })
  const { rows: teams } = await pool.query<{ id: number }>(
    `INSERT INTO teams (name, api_token) SELECT 'bench configs ' || i, 'phc_configs_' || i || '_' || md5(random()::text) FROM generate_series(1, $1) i RETURNING id`,
    [count],
  )
  const teamIds = teams.map((t) => t.id)
  await pool.query(`INSERT INTO plugin_configs (team_id, plugin_id, enabled, config) SELECT unnest($1::int[]), $2, true, '{}'`, [teamIds, installed.plugin.id])

  const metricsPort = await freePort()
  const env = {
    ...process.env,
    REDIS_URL: services.redisUrl,
    DATABASE_URL: services.databaseUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    METRICS_PORT: String(metricsPort),
    PLUGIN_MAX_LIVE_INSTANCES: String(Math.max(2000, count)),
    PLUGIN_RUNTIME_SNAPSHOT: String(snapshot),
  }
  const child: ChildProcess = spawnRole('ingest-worker', env, {
    nodeArgs: WORKER_NODE_ARGS,
    stdio: ['ignore', process.env.BENCH_WORKER_STDOUT ? 'inherit' : 'ignore', 'inherit'],
  })
  const connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null })
  const queue = createIngestQueue(connection, { queuePrefix: prefix, ingest: { attempts: 1 } })
  try {
    await waitFor('ingest worker /readyz', async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok, 120_000)
    const idle = await workerMetrics(metricsPort)
    const batch: IngestBatch = { events: teamIds.map(event) }
    const started = process.hrtime.bigint()
    await queue.add('batch', batch)
    await storedAtLeast(pool, teamIds, count)
    const loadMs = Number(process.hrtime.bigint() - started) / 1e6
    const loaded = await workerMetrics(metricsPort)
    const { processed } = await stored(pool, teamIds)
    if (processed < count) {
      // A config that failed to load lets its team's events through without it: that is not a loaded config.
      throw new Error(`configs bench: only ${processed} of ${count} events went through their plugin; logged: ${(await problems(pool, teamIds)).join(' / ')}`)
    }
    let aged: Map<string, number> | null = null
    if (AGE_BATCHES > 0) {
      await queue.addBulk(Array.from({ length: AGE_BATCHES }, () => ({ name: 'batch', data: { events: teamIds.map(event) } })))
      await storedAtLeast(pool, teamIds, count * (1 + AGE_BATCHES))
      aged = await workerMetrics(metricsPort)
      const after = await stored(pool, teamIds)
      if (after.processed < after.all) throw new Error(`configs bench: ${after.all - after.processed} of the later events did not go through their plugin`)
    }
    return {
      configs: count,
      idleRssMb: (idle.get('process_resident_memory_bytes') ?? NaN) / MB,
      rssMb: (loaded.get('process_resident_memory_bytes') ?? NaN) / MB,
      heapMb: (loaded.get('nodejs_heap_size_used_bytes') ?? NaN) / MB,
      loadMs,
      live: loaded.get('plugin_vm_live_isolates') ?? NaN,
      agedRssMb: (aged?.get('process_resident_memory_bytes') ?? NaN) / MB,
      agedCountedMb: (aged?.get('plugin_process_memory_bytes') ?? NaN) / MB,
    }
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined)
    await queue.close()
    connection.disconnect()
    await stopChildren([child])
  }
}

async function bare(count: number): Promise<Figures> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--no-node-snapshot', BARE, String(count)], { maxBuffer: MB })
  const result = JSON.parse(stdout) as { count: number; rssBefore: number; rssAfter: number; ms: number }
  return {
    configs: count,
    idleRssMb: result.rssBefore / MB,
    rssMb: result.rssAfter / MB,
    heapMb: NaN,
    loadMs: result.ms,
    live: result.count,
    agedRssMb: NaN,
    agedCountedMb: NaN,
  }
}

function perConfig(rows: Figures[]): { mb: number; ms: number; agedMb: number } | null {
  if (rows.length < 2) return null
  const [low, high] = [rows[0], rows[rows.length - 1]]
  const n = high.configs - low.configs
  return { mb: (high.rssMb - low.rssMb) / n, ms: (high.loadMs - low.loadMs) / n, agedMb: (high.agedRssMb - low.agedRssMb) / n }
}

/**
 * Memory and load time per live config (issue #21): one ingest worker with 100 and 1 000 enabled
 * configs of a trivial processEvent plugin, each loaded; per config is the difference between the
 * largest and smallest count. The floor, measured in the same run: bare isolates (new Isolate + one
 * context) in a plain Node process.
 */
export async function benchConfigs(): Promise<void> {
  const services = await benchServices()
  const pool = new Pool({ connectionString: services.databaseUrl, max: 2 })
  const redis = new Redis(services.redisUrl)
  try {
    for (let run = 1; run <= RUNS; run++) {
      const workers = new Map<boolean, Figures[]>(SNAPSHOT.map((on) => [on, []]))
      const floors: Figures[] = []
      for (const count of COUNTS) {
        for (const on of SNAPSHOT) workers.get(on)!.push(await worker(services, pool, redis, count, on))
        floors.push(await bare(count))
      }
      process.stdout.write(
        `\nconfigs: one ingest-worker with N enabled configs of a trivial processEvent plugin, one team each, all loaded by one batch with an event per team` +
          `${AGE_BATCHES > 0 ? `, then ${AGE_BATCHES} more such batches` : ''}` +
          `${RUNS > 1 ? ` (run ${run} of ${RUNS})` : ''}\n\n`,
      )
      const rows = (label: string, figures: Figures[]) =>
        figures.map((f) => [
          `${label}, N = ${f.configs}`,
          String(f.live),
          `${f.rssMb.toFixed(0)} MB`,
          `${f.idleRssMb.toFixed(0)} MB`,
          Number.isNaN(f.heapMb) ? '' : `${f.heapMb.toFixed(0)} MB`,
          `${(f.loadMs / 1000).toFixed(2)} s`,
          `${((f.rssMb - f.idleRssMb) / f.configs).toFixed(2)} MB`,
          `${(f.loadMs / f.configs).toFixed(2)} ms`,
          Number.isNaN(f.agedRssMb) ? '' : `${f.agedRssMb.toFixed(0)} MB`,
          Number.isNaN(f.agedRssMb) ? '' : `${((f.agedRssMb - f.idleRssMb) / f.configs).toFixed(2)} MB`,
          Number.isNaN(f.agedCountedMb) ? '' : `${(f.agedCountedMb / f.configs).toFixed(2)} MB`,
        ])
      printTable(
        [
          'process',
          'live isolates',
          'RSS',
          'RSS before',
          'Node heap',
          'load',
          'RSS added / config',
          'load / config',
          `RSS after ${AGE_BATCHES} more batches`,
          'aged RSS added / config',
          'heap above idle / config (budgeted)',
        ],
        [
          ...[...workers].flatMap(([on, figures]) => rows(`ingest worker${SNAPSHOT.length > 1 ? ` (snapshot ${on ? 'on' : 'off'})` : ''}`, figures)),
          ...rows('bare isolate + context (floor)', floors),
        ],
      )
      const f = perConfig(floors)
      for (const [on, figures] of workers) {
        const w = perConfig(figures)
        if (!w || !f) continue
        const largest = figures[figures.length - 1]
        process.stdout.write(
          `per config (difference ${COUNTS[0]} → ${COUNTS[COUNTS.length - 1]}): ingest worker (snapshot ${on ? 'on' : 'off'}) ${w.mb.toFixed(2)} MB, ${w.ms.toFixed(2)} ms` +
            `${Number.isNaN(w.agedMb) ? '' : ` (${w.agedMb.toFixed(2)} MB after ${AGE_BATCHES} more batches)`}; ` +
            `bare isolate ${f.mb.toFixed(2)} MB, ${f.ms.toFixed(2)} ms. Target at ${largest.configs}: RSS ≤ 1 024 MB (${largest.rssMb.toFixed(0)} MB), ` +
            `loaded ≤ 5 s (${(largest.loadMs / 1000).toFixed(2)} s): ${largest.rssMb <= 1024 && largest.loadMs <= 5000 ? 'met' : 'NOT met'}\n`,
        )
      }
      process.stdout.write('\n')
    }
  } finally {
    redis.disconnect()
    await pool.end()
    await services.stop()
  }
}

if (require.main === module) {
  benchConfigs().catch((err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`)
    process.exit(1)
  })
}
