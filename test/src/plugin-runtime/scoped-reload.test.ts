import assert from 'node:assert/strict'
import { publishReload } from '@plugin-server/core'
import { createTeam, Team } from '@plugin-server/db'
import { PluginRuntime } from '@plugin-server/plugin-runtime'
import { updateConfig } from '@plugin-server/management'
import type { QueryResult } from 'pg'
import { eventually } from '../harness/fleet'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { enablePlugin, writePlugin } from '../harness/plugins'

describe('PluginManager reloads (what a reload message names, not every config)', function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let runtime: PluginRuntime
  let teams: Team[]
  /** Rows each read of the configs query returned, in order. */
  let reads: number[]

  beforeEach(async () => {
    // No reconcile during a test: only reload messages read the configs.
    fx = await pluginRuntimeFixture({ PLUGIN_RECONCILE_INTERVAL_MS: '100000' })
    teams = [fx.team, await createTeam(fx.db.pool, 'b'), await createTeam(fx.db.pool, 'c')]
    reads = []
  })
  afterEach(async () => fx.close())

  const tagger = (name: string) => writePlugin(name, `export function processEvent(e) { return e }`, [{ key: 'tag', type: 'string' }])
  /** One config of plugin `name` per team, tagged v1. */
  const enableForEveryTeam = async (name: string) => {
    const plugin = tagger(name)
    const configs = []
    for (const team of teams) configs.push(await enablePlugin(fx.management, team.id, plugin, { tag: 'v1' }))
    return configs
  }
  const start = async () => {
    runtime = await fx.start()
    const pool = runtime.services.pool
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<QueryResult>
    // Counts the rows of the configs query from now on (the start's full read is not counted).
    pool.query = (async (...args: unknown[]) => {
      const result = await query(...args)
      if (typeof args[0] === 'string' && args[0].includes('FROM plugin_configs c JOIN plugins p')) reads.push(result.rowCount ?? 0)
      return result
    }) as unknown as typeof pool.query
  }
  /** Changed in Postgres with no reload published: only a read that covers the config sees it. */
  const retag = (id: number, tag: string) =>
    fx.db.pool.query(`UPDATE plugin_configs SET config = config || jsonb_build_object('tag', $2::text), updated_at = now() WHERE id = $1`, [id, tag])
  const tagOf = (id: number) => runtime.manager.enabledConfigs().find((r) => r.id === id)?.config.tag

  it("re-reads only the team's configs when its config is edited, so the other teams' changes wait for the reconcile", async () => {
    const [a, b] = await enableForEveryTeam('tagger')
    await start()
    await retag(b.id, 'v2')
    await updateConfig(fx.management, a.id, { config: { tag: 'v2' } })
    await eventually(
      'the edited config reloaded',
      async () => tagOf(a.id),
      (tag) => tag === 'v2',
      10_000,
    )
    assert.equal(tagOf(b.id), 'v1', "another team's config is not read")
    assert.deepEqual(reads, [1], "one read, of the team's one config")
  })

  it("re-reads the plugin's configs, every team's, when the message names only the plugin", async () => {
    const configs = await enableForEveryTeam('tagger')
    const [other] = await enableForEveryTeam('other')
    await start()
    for (const config of [...configs, other]) await retag(config.id, 'v2')
    await runtime.manager.reload({ reason: 'plugin version changed', pluginId: configs[0].plugin_id })
    assert.deepEqual(
      configs.map((c) => tagOf(c.id)),
      ['v2', 'v2', 'v2'],
    )
    assert.equal(tagOf(other.id), 'v1', "another plugin's config is not read")
    assert.deepEqual(reads, [3])
  })

  it("drops the configs of a team the message names that are no longer enabled, and puts a reordered team's configs in processEvent order", async () => {
    const [a, b] = await enableForEveryTeam('tagger')
    const [a2, b2] = await enableForEveryTeam('other')
    await start()
    await fx.db.pool.query('UPDATE plugin_configs SET enabled = false, updated_at = now() WHERE id = $1', [a.id])
    await fx.db.pool.query('UPDATE plugin_configs SET "order" = CASE id WHEN $1 THEN 1 ELSE 2 END, updated_at = now() WHERE id IN ($1, $2)', [b2.id, b.id])
    await runtime.manager.reload({ reason: 'team changed', teamId: teams[0].id })
    await runtime.manager.reload({ reason: 'team changed', teamId: teams[1].id })
    assert.equal(tagOf(a.id), undefined)
    assert.deepEqual(
      (await runtime.manager.teamConfigs(teams[0].id)).map((c) => c.record.id),
      [a2.id],
    )
    assert.deepEqual(
      (await runtime.manager.teamConfigs(teams[1].id)).map((c) => c.record.id),
      [b2.id, b.id],
    )
  })

  it('reads a burst of messages that comes during a read once, the union of what they name', async () => {
    const [a, b, c] = await enableForEveryTeam('tagger')
    await start()
    for (const config of [a, b, c]) await retag(config.id, 'v2')
    const first = runtime.manager.reload({ reason: 'config updated', teamId: teams[0].id, pluginConfigId: a.id })
    const rest = [
      runtime.manager.reload({ reason: 'config updated', teamId: teams[1].id, pluginConfigId: b.id }),
      runtime.manager.reload({ reason: 'configs reordered', teamId: teams[2].id }),
      runtime.manager.reload({ reason: 'config updated', teamId: teams[1].id, pluginConfigId: b.id }),
    ]
    await Promise.all([first, ...rest])
    assert.deepEqual(
      [a, b, c].map((config) => tagOf(config.id)),
      ['v2', 'v2', 'v2'],
    )
    assert.deepEqual(reads, [1, 2], "the first message's read, then one read of the two teams the others name")
  })

  it('re-reads every config on a message that names nothing, as a version from before scoped reloads sends during a rolling upgrade', async () => {
    const [a, b] = await enableForEveryTeam('tagger')
    await start()
    await retag(a.id, 'v2')
    await retag(b.id, 'v2')
    await publishReload(fx.management.redis, fx.prefix, { reason: 'config updated' })
    await eventually(
      'every config read again',
      async () => [tagOf(a.id), tagOf(b.id)],
      (tags) => tags.every((t) => t === 'v2'),
      10_000,
    )
    assert.deepEqual(reads, [3])
  })
})
