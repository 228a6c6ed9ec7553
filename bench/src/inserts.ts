import fs from 'node:fs'
import type { IngestEvent } from '@plugin-server/core'
import { addDays, createEventsPartition, createTeam, INSERT_EVENTS_SQL, insertEvents, listEventsPartitions, migrate, utcDayStart } from '@plugin-server/db'
import { startPostgresServer } from '@plugin-server/dev-services'
import { Pool, PoolClient } from 'pg'
import { pageview } from './stage'
import { printTable } from './table'

/**
 * `npm run bench -- inserts`: the events insert as the ingest workers run it (insertEvents: each
 * batch planned with its time ranges, locking only their partitions) against the statement it
 * replaced, measured in the same run on the same database: the same insert without the ranges,
 * prepared under a name so Postgres reuses one generic plan per connection, which holds a lock on
 * every partition. With the 9 partitions of a fresh install, 63 (two months without retention) and
 * 409 (a year): events/s, Postgres CPU per event (the inserting backends' own, from /proc) and the
 * relation locks one insert transaction holds, for a live batch and for one with an event a month old.
 */
const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const BATCH = 100
const AT_ONCE = 4
const PARTITION_COUNTS = [9, 63, 409]

/** The statement before: the same insert without the lookup's time ranges, prepared under this name. */
const BEFORE_STATEMENT = 'bench/insert-events-before'
const BEFORE_SQL = INSERT_EVENTS_SQL.replace(/\n\s*AND \(e\.timestamp BETWEEN .*\)\n/, '\n')

type Insert = (client: Pool | PoolClient, events: IngestEvent[]) => Promise<unknown>
const before: Insert = (client, events) => client.query({ name: BEFORE_STATEMENT, text: BEFORE_SQL, values: [JSON.stringify(events)] })
const after: Insert = (client, events) => insertEvents(client as Pool, events)

let sequence = 0
/** A batch of live events (timestamps within the last second), each uuid new. */
function liveBatch(teamId: number): IngestEvent[] {
  const now = Date.now()
  return Array.from({ length: BATCH }, () => {
    const i = ++sequence
    const event = pageview(i, teamId)
    return { ...event, uuid: `0190c1a4-0000-7000-9000-${String(i).padStart(12, '0')}`, timestamp: new Date(now - (i % 1000)).toISOString() }
  })
}

/** Clock ticks (utime + stime) of these backends so far. */
function backendTicks(pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks
}

/** A pool of AT_ONCE connections held open, and their backends' pids. */
async function fixedPool(url: string): Promise<{ pool: Pool; pids: number[] }> {
  const pool = new Pool({ connectionString: url, max: AT_ONCE, idleTimeoutMillis: 0 })
  const clients = await Promise.all(Array.from({ length: AT_ONCE }, () => pool.connect()))
  const pids = await Promise.all(clients.map(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid))
  for (const c of clients) c.release()
  return { pool, pids }
}

async function run(insert: Insert, url: string, teamId: number): Promise<{ perSecond: number; cpuUs: number }> {
  const { pool, pids } = await fixedPool(url)
  try {
    // Past the five custom plans, so the prepared statement runs its generic plan.
    for (let i = 0; i < 2 * AT_ONCE; i++) await Promise.all(Array.from({ length: AT_ONCE }, () => insert(pool, liveBatch(teamId))))
    const batches = Math.ceil(EVENTS / BATCH)
    let next = 0
    const ticks = backendTicks(pids)
    const started = process.hrtime.bigint()
    await Promise.all(
      Array.from({ length: AT_ONCE }, async () => {
        while (next++ < batches) await insert(pool, liveBatch(teamId))
      }),
    )
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const cpuSeconds = (backendTicks(pids) - ticks) / 100
    return { perSecond: (batches * BATCH) / seconds, cpuUs: (cpuSeconds * 1e6) / (batches * BATCH) }
  } finally {
    await pool.end()
  }
}

/** Locks on the events table, its partitions and their indexes one insert transaction holds once the statement ran (rolled back). */
async function locksOf(insert: Insert, url: string, events: IngestEvent[]): Promise<number> {
  const pool = new Pool({ connectionString: url, max: 1 })
  const client = await pool.connect()
  try {
    for (let i = 0; i < 6; i++) await insert(client, liveBatch(events[0].team_id))
    await client.query('BEGIN')
    await insert(client, events)
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation::regclass::text LIKE 'events%'`,
    )
    await client.query('ROLLBACK')
    return Number(rows[0].n)
  } finally {
    client.release()
    await pool.end()
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

export async function benchInserts(): Promise<void> {
  if (BEFORE_SQL === INSERT_EVENTS_SQL) throw new Error('bench inserts: the statement before could not be derived from INSERT_EVENTS_SQL')
  const postgres = process.env.DATABASE_URL ? null : await startPostgresServer({ fast: true })
  const url = process.env.DATABASE_URL ?? postgres!.url
  const admin = new Pool({ connectionString: url, max: 2 })
  try {
    await migrate(admin)
    const teamId = (await createTeam(admin, 'bench inserts')).id
    // Today's partition analysed before either statement is planned: both then probe its key.
    await insertEvents(admin, liveBatch(teamId))
    await admin.query('ANALYZE events')
    const table: string[][] = []
    let olderDay = utcDayStart(new Date())
    for (const partitions of PARTITION_COUNTS) {
      // Older days, one partition each, until the table has this many (a database without retention after that many days).
      while ((await listEventsPartitions(admin)).length < partitions) await createEventsPartition(admin, (olderDay = addDays(olderDay, -1)))
      const results = { before: [] as { perSecond: number; cpuUs: number }[], after: [] as { perSecond: number; cpuUs: number }[] }
      for (let round = 0; round < ROUNDS; round++) {
        results.before.push(await run(before, url, teamId))
        results.after.push(await run(after, url, teamId))
      }
      const monthOld = (): IngestEvent[] => {
        const batch = liveBatch(teamId)
        batch[0] = { ...batch[0], timestamp: addDays(new Date(), -30).toISOString() }
        return batch
      }
      const locks = [
        await locksOf(before, url, liveBatch(teamId)),
        await locksOf(after, url, liveBatch(teamId)),
        await locksOf(before, url, monthOld()),
        await locksOf(after, url, monthOld()),
      ]
      const perSecond = (r: { perSecond: number }[]) => median(r.map((x) => x.perSecond))
      const cpu = (r: { cpuUs: number }[]) => median(r.map((x) => x.cpuUs))
      table.push([
        String((await listEventsPartitions(admin)).length),
        `${perSecond(results.before).toFixed(0)} / ${perSecond(results.after).toFixed(0)}`,
        (perSecond(results.after) / perSecond(results.before)).toFixed(2),
        `${cpu(results.before).toFixed(1)} / ${cpu(results.after).toFixed(1)}`,
        `${locks[0]} / ${locks[1]}`,
        `${locks[2]} / ${locks[3]}`,
      ])
    }
    process.stdout.write(
      `\nEvents insert, before (one prepared generic plan) / after (insertEvents: with its time ranges, the named statement up to 30 daily partitions, planned per batch past them): ${EVENTS} events per run in batches of ${BATCH}, ${AT_ONCE} at a time, medians of ${ROUNDS} rounds\n\n`,
    )
    printTable(['partitions', 'events/s', 'ratio', 'Postgres CPU µs/event', 'relation locks, live batch', 'with one event a month old'], table)
  } finally {
    await admin.end()
    await postgres?.stop()
  }
}
