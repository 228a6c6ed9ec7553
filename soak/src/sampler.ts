import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { collectGarbage } from './collect-garbage'
import { metricValue } from './prom-text'
import type { SoakProcess } from './soak-fleet'
import type { SeriesKind } from './tolerances'

/** The queues whose backlog (waiting, active, prioritized, delayed) is sampled. */
export const SAMPLED_QUEUES = ['ingest', 'export-deliveries', 'jobs', 'scheduled'] as const
const BACKLOG_STATES = ['waiting', 'active', 'prioritized', 'delayed']
const MB = 1024 * 1024

/** A name given to the soak run's own connections, so they are not counted as the fleet's. */
export const OBSERVER_NAME = 'soak-observer'

export interface SeriesInfo {
  name: string
  kind: SeriesKind
}

export interface Sample {
  /** Seconds since the load began. */
  t: number
  /** Series name → value; null when it could not be read this time. */
  values: Record<string, number | null>
}

/** Series names: fleet-wide first, then per process, then per queue. */
export function seriesOf(processes: SoakProcess[]): SeriesInfo[] {
  return [
    { name: 'redis clients', kind: 'redis clients' },
    { name: 'postgres connections', kind: 'postgres connections' },
    ...processes.flatMap((p) => [
      { name: `${p.name} rss`, kind: 'rss' as const },
      { name: `${p.name} heap after GC`, kind: 'heap after GC' as const },
      { name: `${p.name} open fds`, kind: 'open fds' as const },
      // Capture runs no plugins.
      ...(p.role === 'capture' ? [] : [{ name: `${p.name} live isolates`, kind: 'live isolates' as const }]),
    ]),
    ...SAMPLED_QUEUES.map((q) => ({ name: `${q} backlog`, kind: 'backlog' as const })),
  ]
}

/** Reads every series once: connection counts from Redis and Postgres themselves, the rest from each process's /metrics. */
export async function takeSample(t: number, redis: Redis, pool: Pool, processes: SoakProcess[]): Promise<Sample> {
  const values: Record<string, number | null> = {}
  values['redis clients'] = await redisClients(redis).catch(() => null)
  values['postgres connections'] = await postgresConnections(pool).catch(() => null)
  let queues: string | null = null
  for (const p of processes) {
    const text = await scrape(p)
    const read = (name: string, scale = 1, from = text) => {
      const v = from === null ? null : metricValue(from, name)
      return v === null ? null : v / scale
    }
    // RSS as the process holds it (garbage included, as production sees it); the heap once a full
    // GC has run, so that it measures what is kept (see collect-garbage.ts).
    values[`${p.name} rss`] = read('process_resident_memory_bytes', MB)
    const collected = await collectGarbage(p.inspectPort).then(
      () => true,
      () => false,
    )
    values[`${p.name} heap after GC`] = collected ? read('nodejs_heap_size_used_bytes', MB, await scrape(p)) : null
    values[`${p.name} open fds`] = read('process_open_fds')
    if (p.role !== 'capture') values[`${p.name} live isolates`] = read('plugin_vm_live_isolates')
    queues ??= text
  }
  for (const q of SAMPLED_QUEUES) {
    // Queue depth is fleet-wide: every process reports the same figures, so one scrape is enough.
    const states = BACKLOG_STATES.map((state) => (queues === null ? null : metricValue(queues, 'queue_jobs', { queue: q, state })))
    values[`${q} backlog`] = states.every((s) => s === null) ? null : states.reduce<number>((sum, s) => sum + (s ?? 0), 0)
  }
  return { t, values }
}

function scrape(p: SoakProcess): Promise<string | null> {
  return fetch(`${p.healthUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })
    .then((res) => (res.ok ? res.text() : null))
    .catch(() => null)
}

/** Clients connected to Redis other than the soak run's own (CLIENT LIST, one line per connection). */
async function redisClients(redis: Redis): Promise<number> {
  const list = (await redis.client('LIST')) as string
  return list.split('\n').filter((line) => line.trim() !== '' && !line.includes(`name=${OBSERVER_NAME}`)).length
}

/** Connections the fleet's roles hold (each names itself `plugin-server <role>`). */
async function postgresConnections(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'plugin-server %'`)
  return Number(rows[0].n)
}
