import assert from 'node:assert/strict'
import { createTeam, listEnabledConfigRuns, migrate, MIGRATIONS, upsertPluginAttachment } from '@plugin-server/db'
import { Pool } from 'pg'
import { createTestDatabase, TestDatabase } from '../harness/databases'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'

describe('plugin_attachments.contents_md5 (what the configs read names attachments by)', () => {
  let db: TestDatabase
  let management: ReturnType<typeof managementContext>
  let configId: number

  beforeEach(async () => {
    db = await createTestDatabase()
    management = managementContext(db.pool, '{t-md5}')
    const team = await createTeam(db.pool, 'a')
    configId = (await enablePlugin(management, team.id, writePlugin('geo', 'export function processEvent(e) { return e }'))).id
  })
  afterEach(async () => {
    await management.close()
    await db.drop()
  })

  const stored = async () =>
    (await db.pool.query<{ id: number; md5: string | null; actual: string }>('SELECT id, contents_md5 AS md5, md5(contents) AS actual FROM plugin_attachments'))
      .rows
  const upload = (contents: string) =>
    upsertPluginAttachment(db.pool, configId, { key: 'db', file_name: 'db.mmdb', content_type: 'application/octet-stream', contents: Buffer.from(contents) })

  it("is kept on every write of the contents: an upload, a replacing upload, and an older version's write that does not know the column", async () => {
    await upload('first')
    const [first] = await stored()
    assert.equal(first.md5, first.actual)
    await upload('second')
    await db.pool.query(`UPDATE plugin_attachments SET contents = 'third'::bytea`)
    const [third] = await stored()
    assert.equal(third.md5, third.actual)
    assert.notEqual(third.md5, first.md5)
  })

  it('is what the configs read names each attachment by: the contents are not hashed again at every reload', async () => {
    await upload('contents')
    const [attachment] = await stored()
    // Not a write of the contents: the trigger leaves the column as set, so only a read of the column shows it.
    await db.pool.query(`UPDATE plugin_attachments SET contents_md5 = 'as-stored'`)
    const [run] = await listEnabledConfigRuns(db.pool, null)
    assert.equal(run.attachments_signature, `${attachment.id}:as-stored`)
  })

  it('is filled for the attachments an install held before the migration, with the md5 the workers named them by, so none reloads', async () => {
    const name = `ps_md5_${Math.random().toString(36).slice(2, 10)}`
    await db.pool.query(`CREATE DATABASE ${name}`)
    const url = new URL(db.url)
    url.pathname = `/${name}`
    const pool = new Pool({ connectionString: url.toString(), max: 2 })
    // DROP DATABASE … WITH (FORCE) can reach a client the ended pool is still closing; that is expected.
    pool.on('error', () => undefined)
    try {
      const before = MIGRATIONS.findIndex((m) => m.id === '0016-plugin-attachment-contents-md5')
      await migrate(pool, MIGRATIONS.slice(0, before))
      await pool.query(`INSERT INTO teams (name, api_token) VALUES ('a', 'phc_a')`)
      await pool.query(`INSERT INTO plugins (name, plugin_json, source, content_hash) VALUES ('p', '{}', '{}', 'h')`)
      await pool.query(`INSERT INTO plugin_configs (team_id, plugin_id, enabled, "order", config) VALUES (1, 1, true, 1, '{}')`)
      await pool.query(`INSERT INTO plugin_attachments (plugin_config_id, key, content_type, file_name, contents) VALUES (1, 'db', 't', 'f', 'old'::bytea)`)
      await migrate(pool)
      const { rows } = await pool.query<{ md5: string; actual: string }>('SELECT contents_md5 AS md5, md5(contents) AS actual FROM plugin_attachments')
      assert.deepEqual(rows, [{ md5: rows[0].actual, actual: rows[0].actual }])
    } finally {
      await pool.end()
      await db.pool.query(`DROP DATABASE ${name} WITH (FORCE)`)
    }
  })
})
