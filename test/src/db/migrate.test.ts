import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Pool, PoolClient } from 'pg'
import { addDays, eventsPartitionName, insertEvents, listEventsPartitions, maintainEventsPartitions, migrate, MIGRATIONS, utcDayStart } from '@plugin-server/db'
import { ingestEvent } from './ingest-event'

describe('migrate', () => {
  let pool: Pool
  let name: string

  beforeEach(async () => {
    name = `ps_migrate_${Math.random().toString(36).slice(2, 10)}`
    const admin = new Pool({ connectionString: process.env.DATABASE_URL, max: 1 })
    await admin.query(`CREATE DATABASE ${name}`)
    await admin.end()
    const url = new URL(process.env.DATABASE_URL!)
    url.pathname = `/${name}`
    pool = new Pool({ connectionString: url.toString(), max: 10 })
    // DROP DATABASE … WITH (FORCE) can reach a client the ended pool is still closing; that is expected.
    pool.on('error', () => undefined)
  })

  afterEach(async () => {
    await pool.end()
    const admin = new Pool({ connectionString: process.env.DATABASE_URL, max: 1 })
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`)
    await admin.end()
  })

  it('creates every table, then does nothing the second time', async () => {
    const first = await migrate(pool)
    assert.deepEqual(
      first.applied,
      MIGRATIONS.map((m) => m.id),
    )
    const { rows } = await pool.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)
    for (const table of ['events', 'plugin_attachments', 'plugin_configs', 'plugin_log_entries', 'plugin_storage', 'plugins', 'schema_migrations', 'teams']) {
      assert.ok(
        rows.some((r) => r.tablename === table),
        `table ${table} exists`,
      )
    }
    const second = await migrate(pool)
    assert.deepEqual(second.applied, [])
    assert.deepEqual(
      second.alreadyApplied,
      MIGRATIONS.map((m) => m.id),
    )
  })

  it('holds no lock once done behind a transaction-mode pooler (PgBouncer, as the chart recommends), where each transaction may get another server connection, and runs again', async () => {
    // PgBouncer in transaction mode, in miniature: each transaction on one server connection, each
    // statement outside one on the next connection in turn.
    const pooled = () => {
      let turn = 0
      let inTransaction: PoolClient | null = null
      const servers: PoolClient[] = []
      const client = {
        on: () => client,
        off: () => client,
        release: () => servers.forEach((s) => s.release()),
        query: async (text: string, values?: unknown[]) => {
          while (servers.length < 3) servers.push(await pool.connect())
          const server = inTransaction ?? servers[turn++ % servers.length]
          if (text === 'BEGIN') inTransaction = server
          if (text === 'COMMIT' || text === 'ROLLBACK') inTransaction = null
          return server.query(text, values)
        },
      }
      return { connect: async () => client } as unknown as Pool
    }
    assert.deepEqual(
      (await migrate(pooled())).applied,
      MIGRATIONS.map((m) => m.id),
    )
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`)
    assert.equal(rows[0].n, 0, 'no advisory lock left on any server connection')
    assert.deepEqual(
      (await migrate(pooled())).alreadyApplied,
      MIGRATIONS.map((m) => m.id),
    )
  })

  it('is safe when several processes run it at once', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(pool)))
    // Each migration under the lock of its own transaction: one process may apply the first and another the next.
    const applied = results.flatMap((r) => r.applied)
    assert.deepEqual([...applied].sort(), MIGRATIONS.map((m) => m.id).sort(), 'each migration applied exactly once')
    for (const result of results) {
      assert.deepEqual(
        [...result.applied, ...result.alreadyApplied].sort(),
        MIGRATIONS.map((m) => m.id).sort(),
        'every process saw every migration, applying it or finding it applied',
      )
    }
  })

  it('keys events by (team, uuid) from 0005 on, keeping the rows a database already had', async () => {
    const before = MIGRATIONS.findIndex((m) => m.id === '0005-events-team-uuid-key')
    await migrate(pool, MIGRATIONS.slice(0, before))
    const [a, b] = [randomUUID(), randomUUID()]
    await pool.query(`INSERT INTO events (uuid, team_id, event, distinct_id, timestamp) VALUES ($1, 1, 'old a', 'u', now()), ($2, 2, 'old b', 'u', now())`, [
      a,
      b,
    ])
    assert.deepEqual(
      (await migrate(pool)).applied,
      MIGRATIONS.slice(before).map((m) => m.id),
    )
    assert.equal(await insertEvents(pool, [ingestEvent({ uuid: a, team_id: 2, event: 'new' }), ingestEvent({ uuid: b, team_id: 2 })]), 1)
    const { rows } = await pool.query('SELECT uuid, team_id, event FROM events ORDER BY event')
    assert.deepEqual(rows, [
      { uuid: a, team_id: 2, event: 'new' },
      { uuid: a, team_id: 1, event: 'old a' },
      { uuid: b, team_id: 2, event: 'old b' },
    ])
  })

  describe('0007: events partitioned by day', () => {
    const today = () => utcDayStart(new Date())
    const stored = async () =>
      (await pool.query('SELECT uuid::text, team_id, event, properties, timestamp, created_at, ip, site_url FROM events ORDER BY timestamp, uuid')).rows
    const upgradeWithEvents = async () => {
      await migrate(
        pool,
        MIGRATIONS.slice(
          0,
          MIGRATIONS.findIndex((m) => m.id === '0007-events-partitioned-by-day'),
        ),
      )
      const at = (timestamp: string, n: number, team = 1) => ({ uuid: randomUUID(), team_id: team, event: `e${n}`, timestamp, properties: { n } })
      const sameMoment = new Date(Date.now() - 1000).toISOString()
      const events = [
        at(addDays(new Date(), -40).toISOString(), 1),
        at(addDays(new Date(), -1).toISOString(), 2, 2),
        at(sameMoment, 3),
        at(sameMoment, 4),
        at(addDays(today(), 3).toISOString(), 5),
        at('2100-01-01T00:00:00Z', 6, 2),
      ]
      await pool.query(
        `INSERT INTO events (uuid, team_id, event, distinct_id, properties, timestamp, created_at, ip)
         SELECT uuid, team_id, event, 'u', properties, timestamp, now() - interval '1 hour', '10.0.0.1' FROM jsonb_to_recordset($1::jsonb)
           AS r(uuid uuid, team_id int, event text, properties jsonb, timestamp timestamptz)`,
        [JSON.stringify(events)],
      )
      const before = await stored()
      assert.deepEqual((await migrate(pool)).applied.slice(0, 1), ['0007-events-partitioned-by-day'])
      return { events, before }
    }

    it('keeps every event of an existing install, with its timestamps and in the order readers page through them', async () => {
      const { events, before } = await upgradeWithEvents()
      assert.deepEqual(await stored(), before)
      const { rows: homes } = await pool.query<{ event: string; home: string }>('SELECT event, tableoid::regclass::text AS home FROM events ORDER BY event')
      assert.deepEqual(homes, [
        { event: 'e1', home: 'events_legacy' },
        { event: 'e2', home: 'events_legacy' },
        { event: 'e3', home: 'events_legacy' },
        { event: 'e4', home: 'events_legacy' },
        { event: 'e5', home: eventsPartitionName(addDays(today(), 3)) },
        { event: 'e6', home: 'events_default' },
      ])
      const ingest = events.map((e) => ingestEvent({ ...e, timestamp: new Date(e.timestamp).toISOString() }))
      assert.equal(await insertEvents(pool, ingest), 0, 'every event delivered again: nothing new')
      const { rows: indexes } = await pool.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE tablename = 'events' ORDER BY indexname`)
      assert.deepEqual(
        indexes.map((i) => i.indexdef.replace(/^.* USING /, '')),
        ['btree (team_id, uuid, "timestamp")', 'btree (team_id, "timestamp")'],
      )
    })

    it("drops an upgraded install's legacy partition once all of it is older than the retention", async () => {
      await upgradeWithEvents()
      const kept = await maintainEventsPartitions(pool, { aheadDays: 7, retentionDays: 30 })
      assert.deepEqual(kept.dropped, [])
      const later = await maintainEventsPartitions(pool, { aheadDays: 7, retentionDays: 1, now: addDays(today(), 2.5) })
      assert.deepEqual(later.dropped, ['events_legacy'])
      assert.ok(!(await listEventsPartitions(pool)).some((p) => p.name === 'events_legacy'))
      assert.deepEqual(
        (await stored()).map((r) => r.event),
        ['e5', 'e6'],
      )
    })

    it('gives a new install daily partitions from today and no legacy partition', async () => {
      await migrate(pool)
      const names = (await listEventsPartitions(pool)).filter((p) => !p.isDefault).map((p) => p.name)
      assert.equal(names[0], eventsPartitionName(today()))
      assert.ok(!names.includes('events_legacy'))
    })
  })

  it('rolls back a failing migration and names it', async () => {
    await assert.rejects(
      migrate(pool, [...MIGRATIONS, { id: '9999-broken', sql: 'CREATE TABLE broken (id int); SELECT no_such_function()' }]),
      /migration 9999-broken failed/,
    )
    const { rows } = await pool.query(`SELECT 1 FROM pg_tables WHERE tablename = 'broken'`)
    assert.equal(rows.length, 0)
  })

  describe('a migration whose table a long transaction holds (lock_timeout)', () => {
    const ADD_COLUMN = { id: '9999-teams-note', sql: 'ALTER TABLE teams ADD COLUMN note text' }
    /** A reader of teams in a transaction left open, as a long report is. */
    const holdTeams = async () => {
      const reader = await pool.connect()
      await reader.query('BEGIN')
      await reader.query('SELECT 1 FROM teams LIMIT 1')
      let ended = false
      return async () => {
        if (ended) return
        ended = true
        await reader.query('COMMIT')
        reader.release()
      }
    }
    /** The longest any of the queries of teams made every 50 ms while `during` ran took, in ms. */
    const longestRead = async (during: Promise<unknown>) => {
      let settled = false
      void during.then(
        () => (settled = true),
        () => (settled = true),
      )
      let longest = 0
      while (!settled) {
        const started = Date.now()
        await pool.query('SELECT count(*) FROM teams')
        longest = Math.max(longest, Date.now() - started)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return longest
    }
    const columns = async () => (await pool.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'teams' AND column_name = 'note'`)).rows.length

    it('fails it after its attempts, applying nothing, and keeps no reader of the table waiting behind it for longer than its lock timeout', async () => {
      await migrate(pool)
      const end = await holdTeams()
      try {
        const migrating = migrate(pool, [...MIGRATIONS, ADD_COLUMN], undefined, { lockTimeoutMs: 200, lockAttempts: 3 })
        const [longest, outcome] = await Promise.all([
          longestRead(migrating),
          migrating.then(
            () => null,
            (err: Error) => err,
          ),
        ])
        assert.match(
          String(outcome?.message),
          /^migration 9999-teams-note failed: its locks were not granted within 200 ms in 3 attempts \(3 in this run\) \(a long-running transaction holds a table it changes; nothing of it was applied, run migrate again once it ends\): canceling statement due to lock timeout$/,
        )
        // Without a lock timeout the migration, and every read behind it, waited for the reader to end.
        assert.ok(longest < 1_500, `a read of teams waited ${longest} ms`)
        assert.equal(await columns(), 0)
        const { rows } = await pool.query('SELECT 1 FROM schema_migrations WHERE id = $1', [ADD_COLUMN.id])
        assert.equal(rows.length, 0)
      } finally {
        await end()
      }
    })

    it('applies it on a later attempt once the transaction has ended', async () => {
      await migrate(pool)
      const end = await holdTeams()
      const announced: string[] = []
      const migrating = migrate(pool, [...MIGRATIONS, ADD_COLUMN], (id) => announced.push(id), { lockTimeoutMs: 100, lockAttempts: 5 })
      // The first attempt gave up after 100 ms; the second is 1 s after it.
      await new Promise((resolve) => setTimeout(resolve, 400))
      await end()
      const started = Date.now()
      const result = await migrating
      assert.ok(Date.now() - started > 300, 'applied by the second attempt, not the first')
      assert.deepEqual(result.applied, [ADD_COLUMN.id])
      assert.deepEqual(announced, [ADD_COLUMN.id], 'announced once, however many attempts it took')
      assert.equal(await columns(), 1)
    })
  })
})
