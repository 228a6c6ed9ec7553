import { ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Redis from 'ioredis'
import { Pool } from 'pg'
import { PostHog } from 'posthog-node'
import { createTeam, Team } from '@plugin-server/db'
import { freePort, waitFor } from '@plugin-server/dev-services'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { benchServices } from './bench-services'
import { spawnRole } from './spawn-role'
import { printTable } from './table'
import { benchManagement } from './bench-management'
import { stopChildren } from './stop-children'

const SECONDS = Number(process.env.BENCH_NEIGHBOUR_SECONDS ?? 40)
const A_PER_SECOND = 10
const B_PER_SECOND = 10
const DEADLINE_ENV = { PLUGIN_TIMEOUT_MS: '5000', PLUGIN_PROCESS_EVENT_TIMEOUT_MS: '5000' }

/** What team B's plugin does with each batch; team A always runs the same healthy enricher. */
type Scenario = 'healthy' | 'busy 2 s per batch' | 'loops forever'

const ENRICHER = `export function processEvent(event) {
  event.properties = { ...event.properties, enriched: true }
  return event
}`

// Busy for 2 s once per call (a sync processEvent runs the whole batch in one call; the microtask
// runs once the call is over), or forever, which only the deadline ends.
const NEIGHBOUR = `let inBatch = false
export function processEvent(event, { config }) {
  if (config.mode === 'loops forever') for (;;) {}
  if (config.mode === 'busy 2 s per batch' && !inBatch) {
    inBatch = true
    Promise.resolve().then(() => { inBatch = false })
    const end = Date.now() + 2000
    while (Date.now() < end) {}
  }
  event.properties = { ...event.properties, neighbour: config.mode }
  return event
}`

/** Team A's lag over one phase of a run: while B's config was enabled, or after the server disabled it. */
interface Phase {
  label: string
  sent: number
  stored: number
  p50: number
  p95: number
  max: number
}

function writePlugin(name: string, code: string, config: unknown[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-neighbour-'))
  fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify({ name, main: 'index.js', config }))
  fs.writeFileSync(path.join(dir, 'index.js'), code)
  return dir
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

async function stream(host: string, team: Team, perSecond: number, until: number, sent?: Map<string, number>): Promise<void> {
  const client = new PostHog(team.api_token, { host, flushAt: 1, flushInterval: 0, fetchRetryCount: 3, fetchRetryDelay: 100 })
  const started = Date.now()
  for (let i = 0; Date.now() < until; i++) {
    const uuid = randomUUID()
    const at = Date.now()
    client.capture({ distinctId: `user-${i % 100}`, event: '$pageview', uuid, properties: { sent_ms: at, $current_url: 'https://example.com/pricing' } })
    sent?.set(uuid, at)
    // A steady rate: the next event is due at its slot, however long this one took to hand over.
    await new Promise((r) => setTimeout(r, Math.max(0, started + ((i + 1) * 1000) / perSecond - Date.now())))
  }
  await client.shutdown()
}

async function storedAt(pool: Pool, teamId: number): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ uuid: string; created_at: Date }>('SELECT uuid, created_at FROM events WHERE team_id = $1', [teamId])
  return new Map(rows.map((r) => [r.uuid, r.created_at.getTime()]))
}

async function measure(redisUrl: string, databaseUrl: string, scenario: Scenario): Promise<Phase[]> {
  const pool = new Pool({ connectionString: databaseUrl, max: 2 })
  const redis = new Redis(redisUrl)
  const prefix = `{bench-neighbour-${randomUUID().slice(0, 8)}}`
  const ctx = benchManagement(pool, redis, prefix)
  const teamA = await createTeam(pool, `neighbour A ${prefix}`)
  const teamB = await createTeam(pool, `neighbour B ${prefix}`)
  const enricher = await installPluginFromPath(ctx, writePlugin('bench neighbour enricher', ENRICHER))
  const neighbour = await installPluginFromPath(ctx, writePlugin('bench neighbour', NEIGHBOUR, [{ key: 'mode', type: 'string', required: true }]))
  await createConfig(ctx, { teamId: teamA.id, plugin: enricher.plugin.id, enabled: true })
  const configB = await createConfig(ctx, { teamId: teamB.id, plugin: neighbour.plugin.id, config: { mode: scenario }, enabled: true })
  const port = await freePort()
  const env = {
    ...process.env,
    ...DEADLINE_ENV,
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: prefix,
    CAPTURE_PORT: String(port),
    LOG_LEVEL: 'warn',
  }
  const children: ChildProcess[] = ['capture', 'ingest-worker'].map((role) => spawnRole(role, env, { stdio: ['ignore', 'ignore', 'inherit'] }))
  const host = `http://127.0.0.1:${port}`
  try {
    await waitFor('capture', async () => (await fetch(`${host}/_health`).catch(() => null))?.ok === true, 30_000)
    // Team A's plugin loaded before the clock starts, so the first events do not pay for it.
    const warm = new Map<string, number>()
    await stream(host, teamA, 10, Date.now() + 300, warm)
    await waitFor('warm-up stored', async () => (await storedAt(pool, teamA.id)).size >= warm.size, 60_000)

    const sent = new Map<string, number>()
    const started = Date.now()
    const until = started + SECONDS * 1000
    let disabledAt: number | null = null
    const watch = async () => {
      while (disabledAt === null && Date.now() < until) {
        const { rows } = await pool.query<{ enabled: boolean }>('SELECT enabled FROM plugin_configs WHERE id = $1', [configB.id])
        if (!rows[0].enabled) disabledAt = Date.now()
        else await new Promise((r) => setTimeout(r, 250))
      }
    }
    await Promise.all([stream(host, teamA, A_PER_SECOND, until, sent), stream(host, teamB, B_PER_SECOND, until), watch()])
    let stored = new Map<string, number>()
    const allStored = async () => {
      stored = await storedAt(pool, teamA.id)
      return [...sent.keys()].every((u) => stored.has(u))
    }
    // Whatever is still missing after a minute counts as not stored, rather than failing the run.
    await waitFor('team A stored', allStored, 60_000).catch(() => undefined)
    const phase = (label: string, events: [string, number][]): Phase => {
      const lags = events.filter(([u]) => stored.has(u)).map(([u, at]) => stored.get(u)! - at)
      lags.sort((a, b) => a - b)
      return { label, sent: events.length, stored: lags.length, p50: percentile(lags, 50), p95: percentile(lags, 95), max: lags[lags.length - 1] ?? Number.NaN }
    }
    const all = [...sent]
    if (disabledAt === null) return [phase(`${SECONDS} s, B's config enabled throughout`, all)]
    const at = disabledAt
    return [
      phase(
        `first ${((at - started) / 1000).toFixed(1)} s, until the server disabled B's config`,
        all.filter(([, t]) => t < at),
      ),
      phase(
        `the ${((until - at) / 1000).toFixed(1)} s after`,
        all.filter(([, t]) => t >= at),
      ),
    ]
  } finally {
    await stopChildren(children, { killAfterMs: 15_000 })
    redis.disconnect()
    await pool.end()
  }
}
/**
 * `npm run bench -- neighbour`: team A's storage lag (from posthog-node's send to the row's
 * created_at) while team B's plugin next to it is healthy, busy 2 s per batch, or loops forever
 * until its deadline (PLUGIN_TIMEOUT_MS=5000), in one capture and one ingest-worker process.
 */
export async function benchNeighbourLag(): Promise<void> {
  const services = await benchServices()
  try {
    process.stdout.write(
      `neighbour lag: team A ${A_PER_SECOND} events/s and team B ${B_PER_SECOND} events/s through posthog-node for ${SECONDS} s, ` +
        'capture + 1 ingest-worker, PLUGIN_TIMEOUT_MS=5000; lag = row created_at − send time\n',
    )
    const rows: string[][] = []
    const ms = (n: number) => (Number.isNaN(n) ? '-' : n.toFixed(0))
    for (const scenario of ['healthy', 'busy 2 s per batch', 'loops forever'] as const) {
      for (const p of await measure(services.redisUrl, services.databaseUrl, scenario)) {
        rows.push([scenario, p.label, String(p.sent), String(p.stored), ms(p.p50), ms(p.p95), ms(p.max)])
      }
    }
    printTable(["team B's plugin", 'phase', 'A sent', 'A stored', 'A lag p50 ms', 'p95 ms', 'max ms'], rows)
  } finally {
    await services.stop()
  }
}
