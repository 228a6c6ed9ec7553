import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { loadEnabledConfigs, PluginJsonCache } from '@plugin-server/plugin-runtime'
import type { QueryResult } from 'pg'
import { createTestDatabase, TestDatabase } from '../harness/databases'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'

describe('loadEnabledConfigs (what each process keeps per config)', () => {
  let db: TestDatabase
  let management: ReturnType<typeof managementContext>
  /** Rows of plugin.json each query returned. */
  let jsonReads: number[]

  beforeEach(async () => {
    db = await createTestDatabase()
    management = managementContext(db.pool, '{t-load}')
    jsonReads = []
    const query = db.pool.query.bind(db.pool) as (...args: unknown[]) => Promise<QueryResult>
    db.pool.query = (async (...args: unknown[]) => {
      const result = await query(...args)
      if (typeof args[0] === 'string' && /plugin_json/.test(args[0]) && /^\s*SELECT/.test(args[0])) jsonReads.push(result.rowCount ?? 0)
      return result
    }) as unknown as typeof db.pool.query
  })
  afterEach(async () => {
    await management.close()
    await db.drop()
  })

  it('shares one frozen plugin.json between every config of a plugin version, read once however many configs run it', async () => {
    const plugin = writePlugin('shared', 'export function processEvent(e) { return e }', [{ key: 'tag', type: 'string' }])
    for (const name of ['a', 'b', 'c']) await enablePlugin(management, (await createTeam(db.pool, name)).id, plugin)
    jsonReads = []
    const cache = new PluginJsonCache()
    const records = await loadEnabledConfigs(db.pool, { pluginJsons: cache })
    assert.equal(records.length, 3)
    assert.ok(records.every((r) => r.pluginJson === records[0].pluginJson))
    assert.ok(Object.isFrozen(records[0].pluginJson) && Object.isFrozen(records[0].pluginJson.config))
    assert.deepEqual(jsonReads, [1], 'one plugin.json read, for the one version')
    await loadEnabledConfigs(db.pool, { pluginJsons: cache })
    assert.deepEqual(jsonReads, [1], 'a version already read is not read again')
  })

  it('leaves out, and reports, a config whose plugin version has no stored plugin.json (its plugin deleted mid-read), reading every other config', async () => {
    const team = await createTeam(db.pool, 'a')
    const gone = await enablePlugin(management, team.id, writePlugin('going', 'export function processEvent(e) { return e }'))
    const kept = await enablePlugin(management, team.id, writePlugin('staying', 'export function processEvent(e) { return e }'))
    await db.pool.query('DELETE FROM plugin_versions WHERE plugin_id = $1', [gone.plugin_id])
    const missing: [number, string][] = []
    const records = await loadEnabledConfigs(db.pool, { onVersionMissing: (id, message) => missing.push([id, message]) })
    assert.deepEqual(
      records.map((r) => r.id),
      [kept.id],
    )
    assert.deepEqual(missing, [[gone.id, `plugin going (id ${gone.plugin_id}) has no version 1 in plugin_versions, which plugin config ${gone.id} runs`]])
  })
})
