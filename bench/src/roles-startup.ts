import { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Redis from 'ioredis'
import { Pool } from 'pg'
import { freePort, waitFor } from '@plugin-server/dev-services'
import { installPluginFromPath } from '@plugin-server/management'
import { benchServices } from './bench-services'
import { spawnRole } from './spawn-role'
import { printTable } from './table'
import { benchManagement } from './bench-management'
import { stopChildren } from './stop-children'

const CONFIGS = Number(process.env.BENCH_ROLES_CONFIGS ?? 1000)
const ROLES = (process.env.BENCH_ROLES ?? 'capture,scheduler,exporter,ingest-worker').split(',')
/** How long after /readyz the second RSS is read: what a role loads lazily right after start shows there. */
const SETTLE_MS = Number(process.env.BENCH_ROLES_SETTLE_SECONDS ?? 10) * 1000

/**
 * The shape the issue names (a scheduled task and a buffered export: the scheduler runs the task, so
 * it loads every config either way), and the same plugin without the task (the scheduler has nothing
 * to run for it, so it should load nothing).
 */
const SCENARIOS: readonly { name: string; code: string }[] = [
  {
    name: 'runEveryMinute + exportEvents',
    code: `export async function runEveryMinute({ cache }) { await cache.incr('runs') }
export async function exportEvents(events, { cache }) { await cache.incr('exported') }
export async function setupPlugin({ global }) { global.ready = true }`,
  },
  {
    name: 'exportEvents only',
    code: `export async function exportEvents(events, { cache }) { await cache.incr('exported') }
export async function setupPlugin({ global }) { global.ready = true }`,
  },
]

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
  return kb / 1024
}

async function ready(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`)
  return res.ok
}

interface RoleFigures {
  role: string
  startMs: number
  rssAtReadyMb: number
  rssSettledMb: number
}

async function measureRole(role: string, env: NodeJS.ProcessEnv): Promise<RoleFigures> {
  const metricsPort = await freePort()
  const capturePort = await freePort()
  const started = Date.now()
  const child: ChildProcess = spawnRole(
    role,
    { ...env, METRICS_PORT: String(metricsPort), CAPTURE_PORT: String(capturePort), CAPTURE_HOST: '127.0.0.1' },
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  try {
    await waitFor(`${role} /readyz`, () => ready(metricsPort), 600_000)
    const startMs = Date.now() - started
    const rssAtReadyMb = rssMb(child.pid!)
    await new Promise((r) => setTimeout(r, SETTLE_MS))
    return { role, startMs, rssAtReadyMb, rssSettledMb: rssMb(child.pid!) }
  } finally {
    await stopChildren([child])
  }
}

/**
 * Start-up time (spawn → /readyz 200) and resident memory of each role with CONFIGS enabled configs of
 * one plugin, per scenario, one role at a time on an otherwise idle fleet.
 */
export async function benchRolesStartup(): Promise<void> {
  const services = await benchServices()
  const pool = new Pool({ connectionString: services.databaseUrl, max: 2 })
  const redis = new Redis(services.redisUrl)
  try {
    for (const scenario of SCENARIOS) {
      // A queue prefix of its own per scenario, and the previous scenario's configs disabled: each starts from nothing.
      const prefix = `{bench-roles-${randomBytes(4).toString('hex')}}`
      await pool.query('UPDATE plugin_configs SET enabled = false')
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-roles-'))
      fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify({ name: `bench-roles-${randomBytes(3).toString('hex')}`, config: [] }))
      fs.writeFileSync(path.join(dir, 'index.ts'), scenario.code)
      const installed = await installPluginFromPath(benchManagement(pool, redis, prefix), dir)
      const { rows: teams } = await pool.query<{ id: number }>(
        `INSERT INTO teams (name, api_token) SELECT 'bench roles ' || i, 'phc_roles_' || i || '_' || md5(random()::text) FROM generate_series(1, $1) i RETURNING id`,
        [CONFIGS],
      )
      await pool.query(`INSERT INTO plugin_configs (team_id, plugin_id, enabled, config) SELECT unnest($1::int[]), $2, true, '{}'`, [
        teams.map((t) => t.id),
        installed.plugin.id,
      ])
      const env = { ...process.env, REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' }
      const figures: RoleFigures[] = []
      for (const role of ROLES) figures.push(await measureRole(role, env))
      process.stdout.write(`\nroles start-up: ${CONFIGS} enabled configs of one plugin (${scenario.name}), one role process at a time\n\n`)
      printTable(
        ['role', 'start → /readyz', 'RSS at ready', `RSS ${SETTLE_MS / 1000} s later`],
        figures.map((f) => [f.role, `${f.startMs} ms`, `${f.rssAtReadyMb.toFixed(0)} MB`, `${f.rssSettledMb.toFixed(0)} MB`]),
      )
    }
  } finally {
    redis.disconnect()
    await pool.end()
    await services.stop()
  }
}

if (require.main === module) {
  benchRolesStartup().catch((err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`)
    process.exit(1)
  })
}
