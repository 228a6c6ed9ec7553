import assert from 'node:assert/strict'
import path from 'node:path'
import {
  addDays,
  countEvents,
  countHistoricalEvents,
  createEventsPartition,
  createHistoricalRun,
  createTeam,
  eventsPartitionName,
  inTransaction,
  INSERT_EVENTS_SQL,
  INSERT_EVENTS_STATEMENT,
  insertEvents,
  insertPluginLogs,
  listEventsPartitions,
  lookupRanges,
  maintainEventsPartitions,
  NewPluginLogRow,
  readHistoricalPage,
  utcDayStart,
} from '@plugin-server/db'
import { IngestEvent, loadConfig } from '@plugin-server/core'
import { Pool } from 'pg'
import { PluginRuntime, startPluginRuntime } from '@plugin-server/plugin-runtime'
import { EventsPartitionMaintainer, EVENTS_PARTITIONS_WARNING, schedulingConfig, startScheduler, StartedScheduler } from '@plugin-server/scheduling'
import pino from 'pino'
import { Registry } from 'prom-client'
import { withClockAhead } from '../harness/clock-ahead'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { testRoleContext } from '../harness/role-context'
import { ingestEvent } from './ingest-event'

const today = () => utcDayStart(new Date())

/** The values insertEvents gives its statement for these events. */
const statementValues = (events: IngestEvent[]) => [JSON.stringify(events), ...lookupRanges(events.map((e) => Date.parse(e.timestamp)))]

describe('events partitioned by day', () => {
  let db: TestDatabase
  beforeEach(async () => (db = await createTestDatabase()))
  afterEach(async () => db.drop())

  /** Which partition holds each of these uuids. */
  const homes = async (uuids: string[]) => {
    const { rows } = await db.pool.query<{ uuid: string; home: string }>(
      'SELECT uuid::text, tableoid::regclass::text AS home FROM events WHERE uuid = ANY($1::uuid[])',
      [uuids],
    )
    return Object.fromEntries(rows.map((r) => [r.uuid, r.home]))
  }
  const partitionNames = async () => (await listEventsPartitions(db.pool)).map((p) => p.name)

  it('has, once migrated, a partition for every day from today to a week ahead, and a default partition', async () => {
    const names = await partitionNames()
    for (let day = 0; day <= 7; day++) assert.ok(names.includes(eventsPartitionName(addDays(today(), day))), `day +${day} in ${names.join(', ')}`)
    assert.ok(names.includes('events_default'))
    const daily = (await listEventsPartitions(db.pool)).find((p) => p.name === eventsPartitionName(today()))
    assert.deepEqual([daily?.from, daily?.to], [today(), addDays(today(), 1)])
  })

  it('stores events dated 1999 and 2100 (no daily partition) in the default partition, and a month ahead moves into its day when that partition is made', async () => {
    const [past, future, monthAhead] = ['1999-06-01T12:00:00Z', '2100-01-01T00:00:00Z', addDays(today(), 30).toISOString()].map((timestamp) =>
      ingestEvent({ timestamp }),
    )
    assert.equal(await insertEvents(db.pool, [past, future, monthAhead]), 3)
    assert.deepEqual(await homes([past.uuid, future.uuid, monthAhead.uuid]), {
      [past.uuid]: 'events_default',
      [future.uuid]: 'events_default',
      [monthAhead.uuid]: 'events_default',
    })

    const made = await createEventsPartition(db.pool, addDays(today(), 30))
    assert.deepEqual(made, { name: eventsPartitionName(addDays(today(), 30)), created: true, movedRows: 1 })
    assert.equal((await homes([monthAhead.uuid]))[monthAhead.uuid], made.name)
    assert.equal(await insertEvents(db.pool, [past, future, monthAhead]), 0, 'delivered again: nothing new, wherever each one is')
    assert.equal(await countEvents(db.pool), 3)
  })

  it('stores an event re-delivered after its day got its own partition only once', async () => {
    const day = addDays(today(), 20)
    const event = ingestEvent({ timestamp: new Date(day.getTime() + 5000).toISOString() })
    assert.equal(await insertEvents(db.pool, [event]), 1)
    await createEventsPartition(db.pool, day)
    assert.equal(await insertEvents(db.pool, [event]), 0)
    assert.equal(await countEvents(db.pool), 1)
  })

  it('stores an event once when a client re-sends it with a timestamp moved across midnight into the next partition', async () => {
    const midnight = addDays(today(), 1)
    const first = ingestEvent({ timestamp: new Date(midnight.getTime() - 400).toISOString(), event: 'first delivery' })
    const resent = { ...first, timestamp: new Date(midnight.getTime() + 600).toISOString(), event: 'resent' }
    assert.equal(await insertEvents(db.pool, [first]), 1)
    assert.equal(await insertEvents(db.pool, [resent]), 0)
    // Sent in the other order, and both in one batch: still one row each.
    const later = ingestEvent({ timestamp: new Date(midnight.getTime() + 300).toISOString() })
    const earlier = { ...later, timestamp: new Date(midnight.getTime() - 300).toISOString() }
    assert.equal(await insertEvents(db.pool, [later, earlier]), 1)
    const { rows } = await db.pool.query<{ event: string; home: string }>(
      'SELECT event, tableoid::regclass::text AS home FROM events WHERE uuid = ANY($1::uuid[]) ORDER BY timestamp',
      [[first.uuid, later.uuid]],
    )
    assert.deepEqual(rows, [
      { event: 'first delivery', home: eventsPartitionName(today()) },
      { event: '$pageview', home: eventsPartitionName(midnight) },
    ])
  })

  it('stores an event once when re-sent 24½ hours later across a daylight-saving change, in a session whose day is then 25 hours', async () => {
    const pool = new Pool({ connectionString: db.url, max: 1, options: '-c TimeZone=Europe/Berlin' })
    pool.on('error', () => undefined)
    try {
      // Berlin's clocks went back an hour on 2026-10-25: from noon on the 24th, a day later is 25 hours later.
      const event = ingestEvent({ timestamp: '2026-10-24T10:00:00.000Z' })
      assert.equal(await insertEvents(pool, [event]), 1)
      assert.equal(await insertEvents(pool, [{ ...event, timestamp: '2026-10-25T10:30:00.000Z' }]), 0)
      assert.equal(await countEvents(pool), 1)
    } finally {
      await pool.end()
    }
  })

  it("stores a timestamp without a zone as UTC and one with a short offset as its time, whatever the session's time zone, and an ISO time in UTC as written", async () => {
    const pool = new Pool({ connectionString: db.url, max: 1, options: '-c TimeZone=Europe/Berlin' })
    pool.on('error', () => undefined)
    try {
      const events = [
        '2026-06-01T12:00:00',
        '2026-06-01T12:00:00-05',
        '2026-06-01T12:00:00.123456Z',
        // A day JS rolls over and Postgres refuses, and more digits than Postgres keeps: as read here.
        '2026-02-30T00:00:00Z',
        '2026-06-01T12:00:00.9999999Z',
      ].map((timestamp) => ingestEvent({ timestamp }))
      assert.equal(await insertEvents(pool, events), 5)
      const { rows } = await pool.query<{ uuid: string; at: string }>(
        `SELECT uuid::text, to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at FROM events WHERE uuid = ANY($1::uuid[])`,
        [events.map((e) => e.uuid)],
      )
      const at = Object.fromEntries(rows.map((r) => [r.uuid, r.at]))
      assert.deepEqual(
        events.map((e) => at[e.uuid]),
        ['2026-06-01T12:00:00.000000', '2026-06-01T17:00:00.000000', '2026-06-01T12:00:00.123456', '2026-03-02T00:00:00.000000', '2026-06-01T12:00:00.999000'],
      )
      // Sent again: found where they are, however they were written.
      assert.equal(await insertEvents(pool, events), 0)
    } finally {
      await pool.end()
    }
  })

  it('takes a uuid re-sent with a timestamp more than a day from the stored one for a new event (the dedupe window)', async () => {
    const event = ingestEvent({ timestamp: today().toISOString() })
    assert.equal(await insertEvents(db.pool, [event]), 1)
    assert.equal(await insertEvents(db.pool, [{ ...event, timestamp: addDays(today(), 1).toISOString() }]), 0, 'exactly a day apart: the same event')
    assert.equal(await insertEvents(db.pool, [{ ...event, timestamp: new Date(addDays(today(), 1).getTime() + 1).toISOString() }]), 1)
  })

  it("looks for an event's uuid only in the partitions within a day of its timestamp", async () => {
    const event = ingestEvent({ timestamp: addDays(today(), 3).toISOString() })
    const plan = await inTransaction(db.pool, async (client) => {
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${INSERT_EVENTS_SQL}`, statementValues([event]))
      await client.query('ROLLBACK')
      await client.query('BEGIN')
      return rows.map((r) => r['QUERY PLAN']).join('\n')
    })
    // The batch's ranges prune at plan time, the row's own bounds at run time: only these three are searched.
    const searched = [...plan.matchAll(/ on (events_\w+) \w+ \(actual/g)].map((m) => m[1])
    assert.deepEqual(
      searched,
      [2, 3, 4].map((d) => eventsPartitionName(addDays(today(), d))),
      plan,
    )
  })

  it("gives a day's partition statistics with its first batch, so each uuid lookup probes the key and not every event of the team", async () => {
    const name = eventsPartitionName(today())
    const statistics = async () =>
      (await db.pool.query(`SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1 AND attname = 'uuid'`, [name])).rowCount
    assert.equal(await statistics(), 0, 'a fresh partition has none')
    const batch = () => Array.from({ length: 100 }, () => ingestEvent())
    assert.equal(await insertEvents(db.pool, batch()), 100)
    await eventually('statistics from the first batch', statistics, (n) => n === 1)
    // Large enough for an index to beat reading the partition whole; the statistics are still the first batch's.
    for (let i = 0; i < 30; i++) await insertEvents(db.pool, batch())
    const { rows } = await db.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${INSERT_EVENTS_SQL}`, statementValues([ingestEvent()]))
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n')
    assert.match(plan, new RegExp(`Index (Only )?Scan using ${name}_pkey on ${name}`), plan)
  })

  it('asks about days without a partition once per a few minutes, and at most two at a time, however many batches are dated on them', async () => {
    const { analyzeNewEventsPartitions } = require(path.resolve(__dirname, '../../../libs/db/dist/events-partitions/analyze-new-events-partitions')) as {
      analyzeNewEventsPartitions: (pool: Pool, timestamps: readonly string[]) => Promise<void>
    }
    const pool = new Pool({ connectionString: db.url, max: 10 })
    pool.on('error', () => undefined)
    let queries = 0
    let inFlight = 0
    let mostInFlight = 0
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>
    ;(pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args) => {
      queries++
      mostInFlight = Math.max(mostInFlight, ++inFlight)
      try {
        return await query(...args)
      } finally {
        inFlight--
      }
    }
    try {
      // 200 days in 1999, none with a partition of its own: what a client's or a plugin's timestamps can name.
      const days = Array.from({ length: 200 }, (_, i) => new Date(Date.UTC(1999, 0, 1 + i)).toISOString())
      for (let batch = 0; batch < 5 && queries < 200; batch++) await analyzeNewEventsPartitions(pool, days)
      assert.ok(mostInFlight <= 2, `${mostInFlight} checks at once`)
      // Left out so far (two at a time): asked by later batches, each day once.
      for (let batch = 0; batch < 200 && queries < 200; batch++) await analyzeNewEventsPartitions(pool, days)
      assert.equal(queries, 200, 'each day asked about once')
      await analyzeNewEventsPartitions(pool, days)
      assert.equal(queries, 200, 'and not again within a few minutes')
      // Three days ago has no partition either (they are made from install day on), but a day that near may get one any time.
      const near = [new Date(Date.now() - 3 * 24 * 3600 * 1000).toISOString()]
      await analyzeNewEventsPartitions(pool, near)
      await analyzeNewEventsPartitions(pool, near)
      assert.equal(queries, 202, 'a day near today is asked about with each batch')
    } finally {
      await pool.end()
    }
  })

  it("reuses one prepared plan per connection for its inserts while the table has a month of partitions or fewer, and that plan still probes each partition's key", async () => {
    const name = eventsPartitionName(today())
    const pool = new Pool({ connectionString: db.url, max: 1 })
    // pool.end() resolves before its client's socket has closed; the database's DROP … WITH (FORCE)
    // after the test can then reach it, and a pool without a listener throws that as uncaught.
    pool.on('error', () => undefined)
    try {
      const batch = () => Array.from({ length: 100 }, () => ingestEvent())
      assert.equal(await insertEvents(pool, batch()), 100)
      await eventually(
        'statistics from the first batch',
        async () => (await pool.query(`SELECT 1 FROM pg_stats WHERE tablename = $1`, [name])).rowCount,
        (n) => n! > 0,
      )
      for (let i = 0; i < 10; i++) assert.equal(await insertEvents(pool, batch()), 100)
      const client = await pool.connect()
      try {
        const genericPlans = async () =>
          Number(
            (await client.query<{ n: string }>('SELECT generic_plans AS n FROM pg_prepared_statements WHERE name = $1', [INSERT_EVENTS_STATEMENT])).rows[0]
              ?.n ?? -1,
          )
        const before = await genericPlans()
        assert.ok(before > 0, `inserts after the fifth reuse the generic plan (generic plans so far: ${before})`)
        await client.query('BEGIN')
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN (ANALYZE, COSTS OFF) EXECUTE "${INSERT_EVENTS_STATEMENT}"(${statementValues([ingestEvent()])
            .map((v) => client.escapeLiteral(v))
            .join(', ')})`,
        )
        await client.query('ROLLBACK')
        assert.equal(await genericPlans(), before + 1, 'the plan explained is the reused one')
        const plan = rows.map((r) => r['QUERY PLAN']).join('\n')
        assert.match(plan, new RegExp(`Index (Only )?Scan using ${name}_pkey on ${name}`), plan)
      } finally {
        client.release()
      }
    } finally {
      await pool.end()
    }
  })

  describe('with a hundred older days of partitions (three months without retention)', () => {
    beforeEach(async () => {
      for (let day = -1; (await listEventsPartitions(db.pool)).length < 110; day--) await createEventsPartition(db.pool, addDays(today(), day))
      await db.pool.query('ANALYZE events')
    })

    /**
     * What `read` answered on a connection of its own (or the one of `pool`, made with max 1), the
     * daily partitions its transaction (rolled back after) held a lock on, and the statements
     * prepared on that connection.
     */
    const lockedBy = async <T>(read: (client: Pool) => Promise<T>, pool = new Pool({ connectionString: db.url, max: 1 })) => {
      pool.on('error', () => undefined)
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        const answer = await read(client as unknown as Pool)
        const { rows } = await client.query<{ name: string }>(
          `SELECT DISTINCT relation::regclass::text AS name FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation::regclass::text ~ '^events_p[0-9]+$' ORDER BY 1`,
        )
        const prepared = await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements')
        return { answer, partitions: rows.map((r) => r.name), prepared: prepared.rows.map((r) => r.name) }
      } finally {
        await client.query('ROLLBACK')
        client.release()
        await pool.end()
      }
    }
    const around = (day: Date) => [-1, 0, 1].map((d) => eventsPartitionName(addDays(day, d)))
    const monthAgo = addDays(today(), -30)
    /** Noon of that day: the lookups reach a day and some hours each way, so from noon only into the days either side. */
    const noon = (day: Date) => new Date(day.getTime() + 12 * 3_600_000).toISOString()
    const live = () => ingestEvent({ timestamp: noon(today()) })

    it("locks only the partitions within a day of its batch's events when inserting, and still finds their stored uuids", async () => {
      const stored = ingestEvent({ timestamp: noon(monthAgo) })
      assert.equal(await insertEvents(db.pool, [stored]), 1)
      // Batches enough for a statement prepared under a name to be on its generic plan, the partitions counted meanwhile.
      const pool = new Pool({ connectionString: db.url, max: 1 })
      for (let i = 0; i < 8; i++) assert.equal(await insertEvents(pool, [ingestEvent()]), 1)
      assert.deepEqual(await lockedBy((client) => insertEvents(client, [live(), live()]), pool), {
        answer: 2,
        partitions: around(today()).sort(),
        prepared: [],
      })
      // A client's queued event a month old beside live ones: its days too, and its uuid found as stored.
      assert.deepEqual(await lockedBy((client) => insertEvents(client, [live(), { ...stored, event: 'sent again' }])), {
        answer: 1,
        partitions: [...around(monthAgo), ...around(today())].sort(),
        prepared: [],
      })
    })

    it("locks only the partitions of a historical export's range, from its cursor on, when reading its pages and counting its events", async () => {
      const team = await createTeam(db.pool, 'exporting')
      const plugin = await db.pool.query<{ id: number }>(`INSERT INTO plugins (name, plugin_json, content_hash) VALUES ('p', '{}', 'h') RETURNING id`)
      const config = await db.pool.query<{ id: number }>(`INSERT INTO plugin_configs (team_id, plugin_id) VALUES ($1, $2) RETURNING id`, [
        team.id,
        plugin.rows[0].id,
      ])
      const inRange = [0, 1, 2].map((d) => ingestEvent({ team_id: team.id, timestamp: noon(addDays(monthAgo, d)) }))
      assert.equal(await insertEvents(db.pool, [...inRange, ingestEvent({ team_id: team.id })]), 4)
      const created = await createHistoricalRun(db.pool, {
        configId: config.rows[0].id,
        teamId: team.id,
        from: monthAgo,
        to: addDays(monthAgo, 3),
        batchSize: 10,
        maxInFlight: 1,
        maxUnfinished: { config: 1, team: 1 },
      })
      assert.ok(created.outcome === 'created', created.outcome)
      const runId = created.run.id
      const days = (...ds: number[]) => ds.map((d) => eventsPartitionName(addDays(monthAgo, d)))
      assert.deepEqual(await lockedBy((pool) => countHistoricalEvents(pool, runId)), { answer: 3, partitions: days(0, 1, 2), prepared: [] })
      const first = await lockedBy((pool) => readHistoricalPage(pool, { runId, after: null, until: null, limit: 2 }))
      assert.deepEqual([first.answer.map((r) => r.uuid), first.partitions], [[inRange[0].uuid, inRange[1].uuid], days(0, 1, 2)])
      // The cursor on the range's second day: the first is not read, nor locked.
      const after = { timestamp: first.answer[1].ts_key, uuid: first.answer[1].uuid }
      const second = await lockedBy((pool) => readHistoricalPage(pool, { runId, after, until: null, limit: 10 }))
      assert.deepEqual([second.answer.map((r) => r.uuid), second.partitions], [[inRange[2].uuid], days(1, 2)])
      // Read again up to a page's end: only the days up to it.
      const again = await lockedBy((pool) => readHistoricalPage(pool, { runId, after: null, until: after, limit: 10 }))
      assert.deepEqual([again.answer.map((r) => r.uuid), again.partitions], [[inRange[0].uuid, inRange[1].uuid], days(0, 1)])
    })
  })

  it("bounds a batch's lookups by at most four time ranges a day and some hours wider than its events, the nearest clusters merged past four", () => {
    const day = 24 * 3600 * 1000
    // A day in the session's time zone is up to 26 hours across a daylight-saving change: an hour to spare, and a millisecond.
    const reach = 27 * 3600 * 1000 + 1
    const t0 = Date.parse('2026-06-01T12:00:00.000Z')
    const iso = (ms: number) => new Date(ms).toISOString()
    // Within two days of each other: one range, the first repeated for the three unused.
    assert.deepEqual(
      lookupRanges([t0 + 2 * day, t0, t0 + day]),
      Array(4)
        .fill([iso(t0 - reach), iso(t0 + 2 * day + reach)])
        .flat(),
    )
    // Six clusters: the two nearest pairs (3 and 5 days apart) merged, the far ones (10, 100, 400 days) kept apart.
    const times = [0, 3, 13, 18, 118, 518].map((d) => t0 + d * day)
    assert.deepEqual(
      lookupRanges(times),
      [
        [0, 3],
        [13, 18],
        [118, 118],
        [518, 518],
      ].flatMap(([from, to]) => [iso(t0 + from * day - reach), iso(t0 + to * day + reach)]),
    )
    // Never beyond what Postgres reads back: years 0001 to 9999.
    const [from, , , to] = lookupRanges([Date.parse('0001-01-01T00:00:00Z'), Date.parse('9999-12-31T23:59:59.999Z')])
    assert.deepEqual([from, to], ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'])
  })

  it('creates the missing partitions of the window, once however many replicas maintain at once', async () => {
    await db.pool.query(`ALTER TABLE events DETACH PARTITION ${eventsPartitionName(addDays(today(), 2))}`)
    await db.pool.query(`DROP TABLE ${eventsPartitionName(addDays(today(), 2))}`)
    const passes = await Promise.all([1, 2, 3].map(() => maintainEventsPartitions(db.pool, { aheadDays: 9, retentionDays: null })))
    const created = passes.flatMap((p) => p.created).sort()
    assert.deepEqual(created, [-1, 2, 8, 9].map((d) => eventsPartitionName(addDays(today(), d))).sort())
    const again = await maintainEventsPartitions(db.pool, { aheadDays: 9, retentionDays: null })
    assert.deepEqual(again.created, [])
  })

  it('stores every batch inserted while partitions are being made, filled from the default partition and dropped', async () => {
    let stop = false
    const sent: string[] = []
    const ingest = (async () => {
      for (let i = 0; !stop; i++) {
        // Days -1 to +14: some have partitions, some are made meanwhile (their rows moved out of the default).
        const batch = Array.from({ length: 20 }, (_, j) => ingestEvent({ timestamp: addDays(new Date(), ((i * 20 + j) % 16) - 1).toISOString() }))
        assert.equal(await insertEvents(db.pool, batch), batch.length)
        sent.push(...batch.map((e) => e.uuid))
      }
    })()
    await createEventsPartition(db.pool, addDays(today(), -6))
    for (let ahead = 8; ahead <= 14; ahead++) await maintainEventsPartitions(db.pool, { aheadDays: ahead, retentionDays: 5 })
    stop = true
    await ingest
    assert.ok(!(await partitionNames()).includes(eventsPartitionName(addDays(today(), -6))), 'the old partition was dropped meanwhile')
    const { rows } = await db.pool.query<{ n: string; in_default: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE tableoid = 'events_default'::regclass) AS in_default FROM events WHERE uuid = ANY($1::uuid[])`,
      [sent],
    )
    assert.equal(Number(rows[0].n), sent.length)
    const made = await maintainEventsPartitions(db.pool, { aheadDays: 15, retentionDays: 5 })
    assert.equal(made.movedRows, Number(rows[0].in_default), 'what landed in the default partition moves into the day made for it')
  })

  it('drops partitions older than the retention, deletes older events of the default partition, and keeps recent events', async () => {
    const old = addDays(today(), -5)
    await createEventsPartition(db.pool, old)
    await createEventsPartition(db.pool, addDays(today(), -2))
    const oldEvent = ingestEvent({ timestamp: new Date(old.getTime() + 1000).toISOString() })
    const ancient = ingestEvent({ timestamp: '1999-06-01T00:00:00Z' })
    const twoDaysAgo = ingestEvent({ timestamp: addDays(new Date(), -2).toISOString() })
    const recent = ingestEvent()
    const farFuture = ingestEvent({ timestamp: '2100-01-01T00:00:00Z' })
    assert.equal(await insertEvents(db.pool, [oldEvent, ancient, twoDaysAgo, recent, farFuture]), 5)

    const result = await maintainEventsPartitions(db.pool, { aheadDays: 7, retentionDays: 3 })
    assert.deepEqual(result.dropped, [eventsPartitionName(old)])
    assert.equal(result.defaultRowsDeleted, 1)
    const names = await partitionNames()
    assert.ok(!names.includes(eventsPartitionName(old)))
    assert.ok(names.includes(eventsPartitionName(addDays(today(), -2))), 'a partition newer than the cutoff stays')
    const { rows } = await db.pool.query<{ uuid: string }>('SELECT uuid::text FROM events ORDER BY timestamp')
    assert.deepEqual(
      rows.map((r) => r.uuid),
      [twoDaysAgo.uuid, recent.uuid, farFuture.uuid],
    )
  })

  it("drops by the database's clock, not the process's: a replica whose clock runs 10 days ahead keeps the partitions within the retention", async () => {
    const recentDay = addDays(today(), -2)
    await createEventsPartition(db.pool, recentDay)
    const kept = ingestEvent({ timestamp: addDays(new Date(), -2).toISOString() })
    await insertEvents(db.pool, [kept])
    const result = await withClockAhead(10, () => maintainEventsPartitions(db.pool, { aheadDays: 7, retentionDays: 3 }))
    assert.deepEqual(result.dropped, [])
    assert.ok((await partitionNames()).includes(eventsPartitionName(recentDay)))
    const { rows } = await db.pool.query('SELECT 1 FROM events WHERE uuid = $1', [kept.uuid])
    assert.equal(rows.length, 1)
  })
})

describe("the scheduler role's hourly passes: events partitions and plugin log retention", function () {
  this.timeout(60_000)
  let db: TestDatabase
  let ctx: ReturnType<typeof testRoleContext>
  let runtime: PluginRuntime
  let scheduler: StartedScheduler

  before(async () => {
    db = await createTestDatabase()
    await createEventsPartition(db.pool, addDays(today(), -10))
    await insertEvents(db.pool, [ingestEvent({ timestamp: addDays(today(), -10).toISOString() }), ingestEvent()])
    const logRow = (daysAgo: number, message: string): NewPluginLogRow => ({
      ...{ team_id: 1, plugin_id: 1, plugin_config_id: 1, source: 'CONSOLE', type: 'LOG', instance_id: 'i' },
      timestamp: new Date(Date.now() - daysAgo * 86_400_000).toISOString(),
      message,
    })
    await insertPluginLogs(db.pool, [logRow(20, 'old'), logRow(15, 'old'), logRow(1, 'recent')])
    ctx = testRoleContext('scheduler', {
      DATABASE_URL: db.url,
      QUEUE_PREFIX: testQueuePrefix(),
      EVENTS_RETENTION_DAYS: '7',
      EVENTS_PARTITIONS_AHEAD_DAYS: '10',
      PLUGIN_LOG_RETENTION_DAYS: '14',
    })
    runtime = await startPluginRuntime(ctx)
    scheduler = await startScheduler(ctx, runtime, schedulingConfig(ctx.config))
  })
  after(async () => {
    for (const closer of scheduler?.closers ?? runtime?.closers ?? []) await closer.close()
    await ctx?.close()
    await db.drop()
  })

  it('makes the partitions EVENTS_PARTITIONS_AHEAD_DAYS ahead and drops those past EVENTS_RETENTION_DAYS when it starts, counting both', async () => {
    const names = await eventually(
      'partitions',
      () => listEventsPartitions(db.pool).then((ps) => ps.map((p) => p.name)),
      (ns) => ns.includes(eventsPartitionName(addDays(today(), 10))) && !ns.includes(eventsPartitionName(addDays(today(), -10))),
    )
    assert.ok(names.includes(eventsPartitionName(addDays(today(), -1))))
    assert.equal(await countEvents(db.pool), 1)
    const metrics = await eventually(
      'metrics',
      () => ctx.registry.metrics(),
      (text) => /^events_partitions_dropped_total 1$/m.test(text),
    )
    assert.match(metrics, /^events_partitions_created_total 4$/m)
  })

  it('deletes plugin log rows older than PLUGIN_LOG_RETENTION_DAYS when it starts, counting them', async () => {
    await eventually(
      'plugin_logs_retention_deleted_rows_total',
      () => ctx.registry.metrics(),
      (text) => /^plugin_logs_retention_deleted_rows_total 2$/m.test(text),
    )
    const { rows } = await db.pool.query<{ message: string }>('SELECT message FROM plugin_log_entries')
    assert.deepEqual(
      rows.map((r) => r.message),
      ['recent'],
    )
  })
})

describe('EVENTS_RETENTION_DAYS and EVENTS_PARTITIONS_AHEAD_DAYS', () => {
  it('keep every event and partitions a week ahead by default; a wrong value names the variable', () => {
    assert.deepEqual(loadConfig({}).events, { retentionDays: null, partitionsAheadDays: 7 })
    assert.deepEqual(loadConfig({ EVENTS_RETENTION_DAYS: '90', EVENTS_PARTITIONS_AHEAD_DAYS: '3' }).events, { retentionDays: 90, partitionsAheadDays: 3 })
    assert.equal(loadConfig({ EVENTS_RETENTION_DAYS: '0' }).events.retentionDays, null)
    assert.throws(() => loadConfig({ EVENTS_RETENTION_DAYS: 'a month' }), /EVENTS_RETENTION_DAYS: expected an integer between 0 and 36500, got "a month"/)
    assert.throws(() => loadConfig({ EVENTS_PARTITIONS_AHEAD_DAYS: '0' }), /EVENTS_PARTITIONS_AHEAD_DAYS: expected an integer between 1 and 365, got "0"/)
  })
})

describe('EventsPartitionMaintainer: how many partitions the events table has', function () {
  this.timeout(60_000)
  let db: TestDatabase
  before(async () => {
    db = await createTestDatabase()
    // A hundred days before the migration's week: as an install without retention has after a few months.
    for (let ago = 2; ago <= EVENTS_PARTITIONS_WARNING + 1; ago++) await createEventsPartition(db.pool, addDays(today(), -ago))
  })
  after(async () => db.drop())

  const pass = async (retentionDays: number | null) => {
    const lines: { level: number; msg: string; partitions?: number }[] = []
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
    const registry = new Registry()
    const result = await new EventsPartitionMaintainer(db.pool, logger, registry, { retentionDays, partitionsAheadDays: 7 }).runOnce()
    const gauge = (await registry.getSingleMetric('events_partitions')!.get()).values[0]?.value
    return { result: result!, gauge, warnings: lines.filter((l) => l.level === 40).map((l) => l.msg) }
  }

  it('counts them in events_partitions, and warns past 100 with retention off, naming what to set', async () => {
    const { result, gauge, warnings } = await pass(null)
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'events'::regclass`)
    assert.equal(result.partitions, rows[0].n - 1, 'every partition but the default one')
    assert.equal(gauge, result.partitions)
    assert.ok(result.partitions > EVENTS_PARTITIONS_WARNING)
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(
      warnings[0],
      new RegExp(
        `^the events table has ${result.partitions} partitions and EVENTS_RETENTION_DAYS is off \\(one more a day\\): reads of events not bounded by time .* read and lock each of them and its key, .*; set EVENTS_RETENTION_DAYS, or raise max_locks_per_transaction$`,
      ),
    )
  })

  it('warns as well when EVENTS_RETENTION_DAYS keeps more than 100 days, naming it', async () => {
    const { gauge, warnings } = await pass(3650)
    assert.ok(gauge! > EVENTS_PARTITIONS_WARNING)
    assert.equal(warnings.length, 1)
    assert.match(warnings[0], /and EVENTS_RETENTION_DAYS \(3650\) keeps that many days: .*; lower EVENTS_RETENTION_DAYS, or raise max_locks_per_transaction/)
  })

  it('does not warn once EVENTS_RETENTION_DAYS has dropped them to 100 or fewer', async () => {
    const { result, gauge, warnings } = await pass(30)
    assert.ok(result.dropped.length > 0)
    assert.ok(gauge! <= EVENTS_PARTITIONS_WARNING, `${gauge} partitions`)
    assert.deepEqual(warnings, [])
  })
})
