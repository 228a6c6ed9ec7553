import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Pool } from 'pg'
import { insertEvents, migrate, MIGRATIONS } from '@plugin-server/db'
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

  it('is safe when several processes run it at once', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(pool)))
    const applied = results.flatMap((r) => r.applied)
    assert.deepEqual(
      applied,
      MIGRATIONS.map((m) => m.id),
      'each migration applied exactly once',
    )
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

  it('rolls back a failing migration and names it', async () => {
    await assert.rejects(
      migrate(pool, [...MIGRATIONS, { id: '9999-broken', sql: 'CREATE TABLE broken (id int); SELECT no_such_function()' }]),
      /migration 9999-broken failed/,
    )
    const { rows } = await pool.query(`SELECT 1 FROM pg_tables WHERE tablename = 'broken'`)
    assert.equal(rows.length, 0)
  })
})
