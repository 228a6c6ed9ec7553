import assert from 'node:assert/strict'
import { Pool } from 'pg'
import { findPluginVersion, migrate, MIGRATIONS } from '@plugin-server/db'

describe('migration 0008 (plugin version pins)', () => {
  let pool: Pool
  let name: string
  const admin = () => new Pool({ connectionString: process.env.DATABASE_URL, max: 1 })

  beforeEach(async () => {
    name = `ps_pins_${Math.random().toString(36).slice(2, 10)}`
    const a = admin()
    await a.query(`CREATE DATABASE ${name}`)
    await a.end()
    const url = new URL(process.env.DATABASE_URL!)
    url.pathname = `/${name}`
    pool = new Pool({ connectionString: url.toString(), max: 2 })
    pool.on('error', () => undefined)
  })

  afterEach(async () => {
    await pool.end()
    const a = admin()
    await a.query(`DROP DATABASE ${name} WITH (FORCE)`)
    await a.end()
  })

  it('gives a plugin stored without a version row its current version, so it can be pinned and rolled back to', async () => {
    const at = MIGRATIONS.findIndex((m) => m.id === '0008-plugin-version-pins')
    await migrate(pool, MIGRATIONS.slice(0, at))
    const { rows } = await pool.query<{ id: number }>(
      `INSERT INTO plugins (name, plugin_json, source, content_hash, version) VALUES ('old', '{"name":"old","config":[]}', '{"index.ts":"eA=="}', 'h3', 3) RETURNING id`,
    )
    await migrate(pool)
    const version = await findPluginVersion(pool, rows[0].id, 3)
    assert.deepEqual([version?.version, version?.content_hash, version?.plugin_json.name], [3, 'h3', 'old'])
  })

  it('refuses a pin to a version the plugin does not have', async () => {
    await migrate(pool)
    const { rows: team } = await pool.query<{ id: number }>(`INSERT INTO teams (name, api_token) VALUES ('t', 'phc_pins') RETURNING id`)
    const { rows: plugin } = await pool.query<{ id: number }>(
      `INSERT INTO plugins (name, plugin_json, source, content_hash) VALUES ('p', '{"name":"p","config":[]}', '{}', 'h') RETURNING id`,
    )
    await assert.rejects(
      pool.query('INSERT INTO plugin_configs (team_id, plugin_id, pinned_version) VALUES ($1, $2, 5)', [team[0].id, plugin[0].id]),
      /plugin_configs_pinned_version/,
    )
  })
})
