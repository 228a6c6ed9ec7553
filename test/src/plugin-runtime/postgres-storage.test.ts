import assert from 'node:assert/strict'
import { PostgresPluginStorage } from '@plugin-server/plugin-runtime'
import { Pool } from 'pg'
import { createTestDatabase, TestDatabase } from '../harness/databases'
import { eventually } from '../harness/fleet'

describe('PostgresPluginStorage (meta.storage)', () => {
  let db: TestDatabase
  let configA: number
  let configB: number
  let teamA: number
  /** A second plugin's config on team A (one config per plugin and team). */
  let configA2: number
  const MiB = 1024 * 1024
  const storageOf = (configId: number, limit = 64 * MiB) => new PostgresPluginStorage(db.pool, configId, configId === configB ? 2 : teamA, limit)

  beforeEach(async () => {
    db = await createTestDatabase()
    const team = await db.pool.query(`INSERT INTO teams (name, api_token) VALUES ('t', 'tok') RETURNING id`)
    const plugin = await db.pool.query(`INSERT INTO plugins (name, plugin_json, content_hash) VALUES ('p', '{}', 'h') RETURNING id`)
    const make = async (teamName: string) => {
      const t =
        teamName === 't' ? team.rows[0].id : (await db.pool.query(`INSERT INTO teams (name, api_token) VALUES ($1, $1) RETURNING id`, [teamName])).rows[0].id
      return (await db.pool.query(`INSERT INTO plugin_configs (team_id, plugin_id) VALUES ($1, $2) RETURNING id`, [t, plugin.rows[0].id])).rows[0].id as number
    }
    configA = await make('t')
    configB = await make('other')
    teamA = team.rows[0].id as number
    const plugin2 = await db.pool.query(`INSERT INTO plugins (name, plugin_json, content_hash) VALUES ('p2', '{}', 'h2') RETURNING id`)
    configA2 = (await db.pool.query(`INSERT INTO plugin_configs (team_id, plugin_id) VALUES ($1, $2) RETURNING id`, [teamA, plugin2.rows[0].id])).rows[0]
      .id as number
  })
  afterEach(async () => db.drop())

  it('get returns the default, set stores JSON, set again overwrites', async () => {
    const storage = storageOf(configA)
    assert.equal(await storage.get('k', 'default'), 'default')
    await storage.set('k', { cursor: 10, tags: ['a'] })
    assert.deepEqual(await storage.get('k', null), { cursor: 10, tags: ['a'] })
    await storage.set('k', 11)
    assert.equal(await storage.get('k', null), 11)
  })

  it('del and set(undefined) delete', async () => {
    const storage = storageOf(configA)
    await storage.set('a', 1)
    await storage.set('b', 2)
    await storage.del('a')
    await storage.set('b', undefined)
    assert.equal(await storage.get('a', 'gone'), 'gone')
    assert.equal(await storage.get('b', 'gone'), 'gone')
  })

  it('is private to its plugin config', async () => {
    await storageOf(configA).set('shared-name', 'A')
    assert.equal(await storageOf(configB).get('shared-name', 'none'), 'none')
  })

  describe("a team's limit (PLUGIN_TEAM_STORAGE_LIMIT_MB)", () => {
    /** What plugin_storage_usage says the team holds, and what its rows hold by the same measure. */
    const usage = async () => {
      const { rows } = await db.pool.query<{ kept: string; actual: string }>(
        `SELECT (SELECT coalesce(sum(bytes), 0) FROM plugin_storage_usage) AS kept,
                (SELECT coalesce(sum(octet_length(key) + octet_length(value::text) + 64), 0) FROM plugin_storage) AS actual`,
      )
      return { kept: Number(rows[0].kept), actual: Number(rows[0].actual) }
    }

    it("refuses a write that would take the team's configs together over it, naming it; a smaller value or a delete makes room; another team is not held by it", async () => {
      const a = storageOf(configA, MiB)
      const a2 = storageOf(configA2, MiB)
      for (let i = 0; i < 3; i++) await a.set(`k${i}`, 'v'.repeat(300_000))
      await assert.rejects(
        a2.set('more', 'w'.repeat(300_000)),
        /^Error: storage\.set refused: team \d+'s plugins store 0\.9 MB together and this would add 0\.3 MB, over PLUGIN_TEAM_STORAGE_LIMIT_MB \(1\.0 MB\); delete keys \(storage\.del\) or store less$/,
      )
      assert.equal(await a2.get('more', 'absent'), 'absent', 'a refused write writes nothing')
      await storageOf(configB, MiB).set('more', 'w'.repeat(300_000))
      await a.set('k0', 'v'.repeat(300_000))
      await a.set('k1', 'small')
      await a2.set('more', 'w'.repeat(250_000))
      await a.del('k2')
      await a2.set('again', 'w'.repeat(250_000))
      const { kept, actual } = await usage()
      assert.equal(kept, actual)
    })

    it('takes a limit past 2 GiB (a bigint, not an integer)', async () => {
      await storageOf(configA, 4096 * MiB).set('k', 'v')
      assert.equal(await storageOf(configA).get('k', null), 'v')
    })

    it('holds the team to its limit when many writes from separate connections, each fitting alone, come at once', async () => {
      const pools = Array.from({ length: 20 }, () => new Pool({ connectionString: db.url, max: 1 }))
      // As the harness's own pool: the database's DROP … WITH (FORCE) may reach a client an ended pool is still closing.
      for (const pool of pools) pool.on('error', () => undefined)
      try {
        // Connected first, so the writes start together.
        await Promise.all(pools.map((pool) => pool.query('SELECT 1')))
        const value = 'x'.repeat(100 * 1024)
        const results = await Promise.allSettled(
          pools.map((pool, i) => new PostgresPluginStorage(pool, i % 2 ? configA : configA2, teamA, MiB).set(`k${i}`, value)),
        )
        const { kept } = await usage()
        assert.ok(kept <= MiB, `the team holds ${kept} bytes, over its limit of ${MiB}`)
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, Math.floor(MiB / (100 * 1024 + 100)))
      } finally {
        await Promise.all(pools.map((pool) => pool.end()))
      }
    })

    it("holds one connection of the pool for a team's writes at once, however many of its configs write: the rest wait in the process, and another team still gets a connection", async () => {
      const pool = new Pool({ connectionString: db.url, max: 10 })
      pool.on('error', () => undefined)
      const holder = await db.pool.connect()
      try {
        // A write of the team's elsewhere (another worker) holds the team's lock.
        await holder.query('BEGIN')
        await holder.query(`SELECT pg_advisory_xact_lock(hashtext('plugin-storage:' || $1::int))`, [teamA])
        const writes = Array.from({ length: 10 }, (_, i) => new PostgresPluginStorage(pool, i % 2 ? configA : configA2, teamA, 64 * MiB).set(`w${i}`, i))
        await eventually(
          'a write waiting for the lock',
          async () => (await db.pool.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rows[0].n as number,
          (n) => n >= 1,
        )
        assert.equal(pool.totalCount - pool.idleCount, 1, 'connections of the pool checked out')
        const waiting = await db.pool.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)
        assert.equal(waiting.rows[0].n, 1, 'writes waiting for the lock')
        assert.equal(await new PostgresPluginStorage(pool, configB, 2, 64 * MiB).get('nothing', 'default'), 'default')
        await holder.query('COMMIT')
        await Promise.all(writes)
        assert.equal(await storageOf(configA).get('w9', null), 9)
      } finally {
        holder.release()
        await pool.end()
      }
    })

    it('keeps the usage equal to what the rows hold through inserts, overwrites, deletes and a config deleted with its rows', async () => {
      const a = storageOf(configA)
      await Promise.all(Array.from({ length: 50 }, (_, i) => a.set(`k${i % 10}`, { i, pad: 'x'.repeat(i * 100) })))
      await a.del('k3')
      await a.set('k4', undefined)
      await storageOf(configA2).set('other', [1, 2, 3])
      assert.deepEqual(await usage(), { kept: (await usage()).actual, actual: (await usage()).actual })
      await db.pool.query('DELETE FROM plugin_configs WHERE id = $1', [configA])
      const after = await usage()
      assert.equal(after.kept, after.actual)
      assert.ok(after.actual > 0, "the other config's row is still counted")
    })
  })
})
