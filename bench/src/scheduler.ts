import { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Redis from 'ioredis'
import { Pool } from 'pg'
import { migrate } from '@plugin-server/db'
import { startPostgresServer, startRedisServer } from '@plugin-server/dev-services'
import { installPluginFromPath } from '@plugin-server/management'
import { dueAfter, taskSchedule } from '@plugin-server/scheduling'
import { printTable } from './table'
import { spawnRole } from './spawn-role'
import { benchManagement } from './bench-management'
import { stopChildren } from './stop-children'

const CONFIGS = Number(process.env.BENCH_SCHEDULER_CONFIGS ?? 1000)
/** Scheduler processes; with SCHEDULER_SHARDS > 1 each sets up only its share of the configs. */
const REPLICAS = Number(process.env.BENCH_SCHEDULER_REPLICAS ?? 2)
/** 20: a minute lasts 3 s, so every config runs 20 times as often as in production (10 000 configs: 3 333 runs/s instead of 167). */
const TIME_SCALE = Number(process.env.BENCH_SCHEDULER_TIME_SCALE ?? 20)
/** Warm-up (every config ran twice) gives up after this long and measures anyway, saying how far it got. */
const WARMUP_MS = Number(process.env.BENCH_SCHEDULER_WARMUP_SECONDS ?? 600) * 1000
const INTERVAL = 60_000 / TIME_SCALE
const MEASURE_MS = Number(process.env.BENCH_SCHEDULER_SECONDS ?? 30) * 1000
/** e.g. BENCH_WORKER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to see where the replicas spend their time. */
const WORKER_NODE_ARGS = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)

const PLUGIN = `export async function runEveryMinute({ cache }) {
  const start = Date.now()
  await cache.lpush('runs', JSON.stringify({ start, end: Date.now() }))
}`

function rssMb(pid: number | undefined): string {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
    return (kb / 1024).toFixed(0)
  } catch {
    return 'gone'
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN
}

async function withDatabase<T>(serverUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `ps_bench_scheduler_${randomBytes(4).toString('hex')}`
  const admin = new Pool({ connectionString: serverUrl, max: 1 })
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  try {
    return await fn(url.toString())
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  }
}

/** BENCH_SCHEDULER_CONFIGS (default 1 000) configs with a trivial runEveryMinute on BENCH_SCHEDULER_REPLICAS (2) scheduler processes: start drift against each run's due time (its config's phase in the minute), overlaps, and minutes with two starts. */
export async function benchScheduler(): Promise<void> {
  const redisServer = process.env.REDIS_URL ? null : await startRedisServer()
  const postgres = process.env.DATABASE_URL ? null : await startPostgresServer()
  const redisUrl = process.env.REDIS_URL ?? redisServer!.url
  const children: ChildProcess[] = []
  try {
    await withDatabase(process.env.DATABASE_URL ?? postgres!.url, async (databaseUrl) => {
      const pool = new Pool({ connectionString: databaseUrl, max: 4 })
      const redis = new Redis(redisUrl)
      const prefix = `{bench-sched-${randomBytes(4).toString('hex')}}`
      try {
        await migrate(pool)
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-plugin-'))
        fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify({ name: 'bench-every-minute', config: [] }))
        fs.writeFileSync(path.join(dir, 'index.ts'), PLUGIN)
        const installed = await installPluginFromPath(benchManagement(pool, redis, prefix), dir)
        const pluginId = installed.plugin.id
        // One config per team, all of the same plugin.
        const { rows: teams } = await pool.query<{ id: number }>(
          `INSERT INTO teams (name, api_token) SELECT 'bench ' || i, 'phc_bench_' || i || '_' || md5(random()::text) FROM generate_series(1, $1) i RETURNING id`,
          [CONFIGS],
        )
        const { rows: configs } = await pool.query<{ id: number; team_id: number }>(
          `INSERT INTO plugin_configs (team_id, plugin_id, enabled, config) SELECT unnest($1::int[]), $2, true, '{}' RETURNING id, team_id`,
          [teams.map((t) => t.id), pluginId],
        )
        const configOfTeam = new Map(configs.map((c) => [c.team_id, c.id]))
        const env = {
          ...process.env,
          REDIS_URL: redisUrl,
          DATABASE_URL: databaseUrl,
          QUEUE_PREFIX: prefix,
          TIME_SCALE: String(TIME_SCALE),
          LOG_LEVEL: 'warn',
          SCHEDULER_RECONCILE_INTERVAL_MS: '5000',
        }
        for (let i = 0; i < REPLICAS; i++) children.push(spawnRole('scheduler', env, { nodeArgs: WORKER_NODE_ARGS }))

        const key = (teamId: number) => `${prefix}:cache:${pluginId}:${teamId}:runs`
        const counts = async () => {
          const pipeline = redis.pipeline()
          teams.forEach((t) => pipeline.llen(key(t.id)))
          return ((await pipeline.exec()) ?? []).map(([, n]) => Number(n))
        }
        // Warm-up: every config ran twice (each replica set up the configs it runs: all of them, or its shards' with SCHEDULER_SHARDS), then measure.
        const warmupStarted = Date.now()
        let lastProgress = 0
        for (;;) {
          const ran = await counts()
          const warm = ran.filter((n) => n >= 2).length
          if (warm === ran.length) break
          if (Date.now() - warmupStarted > WARMUP_MS) {
            process.stdout.write(`scheduler: warm-up gave up after ${WARMUP_MS / 1000} s: ${warm} of ${ran.length} configs ran twice; measuring anyway\n`)
            break
          }
          if (Date.now() - lastProgress > 30_000) {
            lastProgress = Date.now()
            process.stdout.write(
              `scheduler: warming up, ${warm} of ${ran.length} configs ran twice, ${ran.filter((n) => n > 0).length} at least once; ` +
                `replicas' RSS ${children.map((c) => `${rssMb(c.pid)} MB`).join(', ')}\n`,
            )
          }
          await new Promise((r) => setTimeout(r, 500))
        }
        const measureFrom = Date.now()
        await new Promise((r) => setTimeout(r, MEASURE_MS))
        const measureTo = Date.now()
        const rssAtEnd = children.map((c) => `${rssMb(c.pid)} MB`).join(', ')

        const pipeline = redis.pipeline()
        teams.forEach((t) => pipeline.lrange(key(t.id), 0, -1))
        const lists = ((await pipeline.exec()) ?? []).map(([, raw]) =>
          (raw as string[]).map((r) => JSON.parse(r) as { start: number; end: number }).sort((a, b) => a.start - b.start),
        )
        const drifts: number[] = []
        let overlaps = 0
        let runs = 0
        let twiceInAMinute = 0
        // Drift is read against the latest due time before a start, so a run a whole minute late would read as on
        // time; the minute it missed is what shows it.
        let missedMinutes = 0
        lists.forEach((list, t) => {
          const schedule = taskSchedule(configOfTeam.get(teams[t].id)!, 'runEveryMinute', TIME_SCALE)
          for (let i = 1; i < list.length; i++) {
            if (list[i].start < list[i - 1].end) overlaps++
            if (list[i].start < measureFrom || list[i].start > measureTo) continue
            runs++
            const minutesApart = Math.floor(list[i].start / INTERVAL) - Math.floor(list[i - 1].start / INTERVAL)
            if (minutesApart === 0) twiceInAMinute++
            if (minutesApart > 1) missedMinutes += minutesApart - 1
            // The latest due time not after the start (20 ms of clock tolerance, as the tests allow).
            drifts.push(list[i].start - dueAfter(schedule, list[i].start + 20 - INTERVAL))
          }
        })
        drifts.sort((a, b) => a - b)
        const ms = (v: number) => `${Math.round(v)} ms`
        process.stdout.write(
          `\nscheduler: ${CONFIGS} configs with runEveryMinute, ${REPLICAS} scheduler processes, SCHEDULER_SHARDS=${process.env.SCHEDULER_SHARDS ?? 1}, TIME_SCALE=${TIME_SCALE} (a minute lasts ${INTERVAL / 1000} s), ${MEASURE_MS / 1000} s measured\n\n`,
        )
        printTable(
          [
            'runs measured',
            'runs/s',
            'drift p50',
            'drift p99',
            'drift max',
            'overlaps',
            'two in a minute',
            'minutes missed',
            "replicas' RSS",
            'target p99 ≤ 1 s',
          ],
          [
            [
              String(runs),
              (runs / ((measureTo - measureFrom) / 1000)).toFixed(0),
              ms(percentile(drifts, 50)),
              ms(percentile(drifts, 99)),
              ms(drifts[drifts.length - 1] ?? NaN),
              String(overlaps),
              String(twiceInAMinute),
              String(missedMinutes),
              rssAtEnd,
              percentile(drifts, 99) <= 1000 && overlaps === 0 && twiceInAMinute === 0 && missedMinutes === 0 ? 'met' : 'NOT met',
            ],
          ],
        )
      } finally {
        await stopChildren(children)
        redis.disconnect()
        await pool.end()
      }
    })
  } finally {
    await redisServer?.stop()
    await postgres?.stop()
  }
}

if (require.main === module) {
  benchScheduler().catch((err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`)
    process.exit(1)
  })
}
