import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { Pool } from 'pg'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { pluginLogMessages, sendEvents } from '../harness/fleet-io'
import { FIXTURES, managementContext } from '../harness/plugins'

/** A second database on the harness Postgres: the export's destination, apart from the fleet's own. */
async function createDestination(): Promise<{ name: string; pool: Pool; drop: () => Promise<void> }> {
  const name = `pg_export_${randomBytes(5).toString('hex')}`
  const admin = new Pool({ connectionString: process.env.DATABASE_URL, max: 1 })
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(process.env.DATABASE_URL!)
  url.pathname = `/${name}`
  const pool = new Pool({ connectionString: url.toString(), max: 2 })
  // DROP DATABASE … WITH (FORCE) can reach a client the ended pools are still closing; that is expected.
  pool.on('error', () => undefined)
  admin.on('error', () => undefined)
  return {
    name,
    pool,
    drop: async () => {
      await pool.end()
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
    },
  }
}

describe('Postgres export: a plugin importing pg, through the running fleet, into a second local database', function () {
  this.timeout(120_000)
  let destination: Awaited<ReturnType<typeof createDestination>>
  let fleet: TestFleet
  let configId: number

  beforeEach(async () => {
    destination = await createDestination()
    fleet = await createTestFleet({ TIME_SCALE: '1000', EXPORT_BUFFER_MAX_AGE_MS: '200', EXPORT_FLUSH_INTERVAL_MS: '50' })
    const db = new URL(process.env.DATABASE_URL!)
    const ctx = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    try {
      const installed = await installPluginFromPath(ctx, path.join(FIXTURES, 'pg-export'))
      const config = await createConfig(ctx, {
        teamId: fleet.team.id,
        plugin: installed.plugin.id,
        enabled: true,
        config: {
          host: db.hostname,
          port: db.port,
          dbName: destination.name,
          tableName: 'posthog_event',
          dbUsername: decodeURIComponent(db.username),
          dbPassword: decodeURIComponent(db.password),
          statementTimeoutMs: '1000',
        },
      })
      configId = config.id
    } finally {
      await ctx.close()
    }
    await fleet.start('capture')
    await fleet.start('ingest-worker')
    await fleet.start('exporter')
  })
  afterEach(async () => {
    await fleet.close()
    await destination.drop()
  })

  const exported = async () =>
    (await destination.pool.query<{ uuid: string; event: string; team_id: number; properties: { seq: number } }>('SELECT * FROM posthog_event')).rows

  /** The exported rows, or none while setupPlugin has not created the table yet. */
  const tryExported = async () => ((await destination.pool.query("SELECT to_regclass('public.posthog_event') AS t")).rows[0].t === null ? [] : exported())

  it('creates the table on setup and inserts every captured event once', async () => {
    const uuids = await sendEvents(fleet, 40, 'pg')
    const rows = await eventually('rows in the destination database', tryExported, (r) => r.length >= uuids.length, 60_000)
    assert.deepEqual(rows.map((r) => r.uuid).sort(), [...uuids].sort(), 'every event inserted exactly once')
    const first = rows.find((r) => r.uuid === uuids[0])!
    assert.equal(first.team_id, fleet.team.id)
    assert.equal(first.properties.seq, 0)
  })

  it('throws RetryError while the table is locked (statement timeout) and delivers the batch once the lock is gone', async () => {
    const lock = await destination.pool.connect()
    let uuids: string[]
    try {
      // The exporter sets its plugins up on their first batch: one event first, so the table exists to lock.
      const warm = await sendEvents(fleet, 1, 'warm-up')
      await eventually('the warm-up event exported', tryExported, (r) => r.some((row) => row.uuid === warm[0]), 60_000)
      await lock.query('BEGIN')
      await lock.query('LOCK TABLE posthog_event IN ACCESS EXCLUSIVE MODE')
      uuids = await sendEvents(fleet, 15, 'locked')
      await eventually(
        'the statement timeout in the plugin logs',
        () => pluginLogMessages(fleet, configId),
        (logs) => logs.some((l) => l.includes('(57014)') && l.includes('canceling statement due to statement timeout')),
        60_000,
      )
    } finally {
      await lock.query('COMMIT')
      lock.release()
    }
    const rows = await eventually('the locked batch delivered on retry', exported, (r) => uuids.every((u) => r.some((row) => row.uuid === u)), 60_000)
    const delivered = rows.map((r) => r.uuid).filter((u) => uuids.includes(u))
    // A statement cancelled by its timeout is rolled back, so the retry inserts each row once (the primary key would refuse a second).
    assert.deepEqual(delivered.sort(), [...uuids].sort(), 'every locked event inserted exactly once')
  })
})
