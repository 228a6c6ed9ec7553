import assert from 'node:assert/strict'
import { Pool } from 'pg'
import { deletePluginLogsBefore, insertPluginLogs, NewPluginLogRow, readPluginLogs } from '@plugin-server/db'
import { createTestDatabase, TestDatabase } from '../harness/databases'

const WRITERS = 4
const BATCHES = 60
const ROWS_PER_BATCH = 5

function batch(writer: number, n: number): NewPluginLogRow[] {
  return Array.from({ length: ROWS_PER_BATCH }, (_, i) => ({
    team_id: 1,
    plugin_id: 1,
    plugin_config_id: 7,
    timestamp: new Date().toISOString(),
    source: 'CONSOLE' as const,
    type: 'LOG' as const,
    message: `writer ${writer} batch ${n} row ${i}`,
    instance_id: `writer-${writer}`,
  }))
}

describe('plugin log rows (libs/db)', function () {
  this.timeout(60_000)
  let db: TestDatabase
  const pools: Pool[] = []
  before(async () => {
    db = await createTestDatabase()
    // One pool per writer, like one per worker process.
    for (let i = 0; i < WRITERS; i++) {
      const pool = new Pool({ connectionString: db.url, max: 2 })
      // DROP DATABASE … WITH (FORCE) in after() can reach a client an ended pool is still closing.
      pool.on('error', () => undefined)
      pools.push(pool)
    }
  })
  after(async () => {
    await Promise.all(pools.map((p) => p.end()))
    await db.drop()
  })

  it('lets a follower paging with after=<newest id seen> see every row of concurrent writers once, in id order', async () => {
    let writing = true
    const writers = pools.map(async (pool, w) => {
      for (let n = 0; n < BATCHES; n++) await insertPluginLogs(pool, batch(w, n))
    })
    const done = Promise.all(writers).finally(() => (writing = false))
    const seen: number[] = []
    let cursor = 0
    let reads = 0
    // Reading while the writers write is the point: a row committed behind the cursor would be skipped.
    for (let last = false; !last;) {
      last = !writing
      const page = await readPluginLogs(db.pool, 7, { types: null, sources: null, search: null, afterId: cursor, limit: 1000 })
      reads++
      for (const row of page) seen.push(row.id)
      if (page.length > 0) cursor = page[page.length - 1].id
    }
    await done
    const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM plugin_log_entries WHERE plugin_config_id = 7 ORDER BY id')
    assert.equal(rows.length, WRITERS * BATCHES * ROWS_PER_BATCH)
    assert.ok(reads > 10, `the follower read ${reads} times while the writers wrote`)
    assert.deepEqual(
      seen,
      rows.map((r) => Number(r.id)),
      'every row once, in id order, none skipped',
    )
  })

  it('deletePluginLogsBefore deletes the rows older than the cutoff in batches, and keeps the newer ones', async () => {
    await db.pool.query('DELETE FROM plugin_log_entries')
    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString()
    const rows = (n: number, daysAgo: number, message: string) =>
      batch(0, 0)
        .slice(0, 1)
        .flatMap((row) => Array.from({ length: n }, () => ({ ...row, timestamp: at(daysAgo), message })))
    await insertPluginLogs(db.pool, [...rows(25, 30, 'old'), ...rows(5, 1, 'new')])
    assert.equal(await deletePluginLogsBefore(db.pool, new Date(at(14)), 10), 25, 'three statements of 10, 10 and 5')
    const { rows: left } = await db.pool.query<{ message: string }>('SELECT message FROM plugin_log_entries')
    assert.deepEqual(new Set(left.map((r) => r.message)), new Set(['new']))
    assert.equal(left.length, 5)
    assert.equal(await deletePluginLogsBefore(db.pool, new Date(at(14)), 10), 0, 'nothing old left')
  })

  it('deletePluginLogsBefore skips the rows another deleter holds instead of waiting on them, as two scheduler replicas delete at once', async () => {
    await db.pool.query('DELETE FROM plugin_log_entries')
    const old = new Date(Date.now() - 30 * 86_400_000).toISOString()
    await insertPluginLogs(
      db.pool,
      Array.from({ length: 20 }, (_, i) => ({ ...batch(0, 0)[0], timestamp: old, message: `old ${i}` })),
    )
    const other = await db.pool.connect()
    try {
      // The other replica's batch: its first 10 rows, locked until its statement commits.
      await other.query('BEGIN')
      await other.query(`SELECT id FROM plugin_log_entries ORDER BY id LIMIT 10 FOR UPDATE`)
      const deleted = await deletePluginLogsBefore(db.pool, new Date(Date.now() - 14 * 86_400_000), 10)
      assert.equal(deleted, 10, 'the rows no one else holds')
    } finally {
      await other.query('ROLLBACK')
      other.release()
    }
    assert.equal(await deletePluginLogsBefore(db.pool, new Date(Date.now() - 14 * 86_400_000), 10), 10, 'the rest on the next pass')
  })

  it('deletePluginLogsBefore deletes old rows behind a head of rows stamped after the cutoff (a writer whose clock ran ahead), of every config', async () => {
    await db.pool.query('DELETE FROM plugin_log_entries')
    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString()
    const rows = (n: number, configId: number, daysAgo: number, message: string) =>
      Array.from({ length: n }, () => ({ ...batch(0, 0)[0], plugin_config_id: configId, timestamp: at(daysAgo), message }))
    // More rows ahead than a batch, first in id order: the old pass saw only them and stopped.
    await insertPluginLogs(db.pool, rows(30, 7, -3, 'ahead'))
    await insertPluginLogs(db.pool, [...rows(25, 7, 30, 'old'), ...rows(15, 8, 30, 'old'), ...rows(5, 8, 1, 'new')])
    assert.equal(await deletePluginLogsBefore(db.pool, new Date(at(14)), 10), 40)
    const { rows: left } = await db.pool.query<{ message: string; n: number }>(
      'SELECT message, count(*)::int AS n FROM plugin_log_entries GROUP BY message ORDER BY message',
    )
    assert.deepEqual(left, [
      { message: 'ahead', n: 30 },
      { message: 'new', n: 5 },
    ])
  })
})
