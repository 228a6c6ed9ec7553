import assert from 'node:assert/strict'
import { PostgresPluginStorage } from '@plugin-server/plugin-runtime'
import { createTestDatabase, TestDatabase } from '../harness/databases'

describe('PostgresPluginStorage (meta.storage)', () => {
  let db: TestDatabase
  let configA: number
  let configB: number

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
  })
  afterEach(async () => db.drop())

  it('get returns the default, set stores JSON, set again overwrites', async () => {
    const storage = new PostgresPluginStorage(db.pool, configA)
    assert.equal(await storage.get('k', 'default'), 'default')
    await storage.set('k', { cursor: 10, tags: ['a'] })
    assert.deepEqual(await storage.get('k', null), { cursor: 10, tags: ['a'] })
    await storage.set('k', 11)
    assert.equal(await storage.get('k', null), 11)
  })

  it('del and set(undefined) delete', async () => {
    const storage = new PostgresPluginStorage(db.pool, configA)
    await storage.set('a', 1)
    await storage.set('b', 2)
    await storage.del('a')
    await storage.set('b', undefined)
    assert.equal(await storage.get('a', 'gone'), 'gone')
    assert.equal(await storage.get('b', 'gone'), 'gone')
  })

  it('is private to its plugin config', async () => {
    await new PostgresPluginStorage(db.pool, configA).set('shared-name', 'A')
    assert.equal(await new PostgresPluginStorage(db.pool, configB).get('shared-name', 'none'), 'none')
  })
})
