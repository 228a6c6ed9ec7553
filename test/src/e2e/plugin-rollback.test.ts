import assert from 'node:assert/strict'
import { createTeam, Team } from '@plugin-server/db'
import { createConfig, installPluginFromPath, PluginConfigView, setCurrentVersion } from '@plugin-server/management'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { managementContext, writePlugin } from '../harness/plugins'

/** How long a committed change may take to reach every worker (pub/sub; the reconcile is pushed out of the way below). */
const RELOAD_BOUND_MS = 2000

const V1 = `export function processEvent(e) { e.properties.enriched_by = 'v1'; return e }`
const BROKEN_V2 = `export function processEvent(e) { throw new Error('version 2 is broken') }`

describe('rolling back a broken plugin version', function () {
  this.timeout(180_000)
  let fleet: TestFleet
  let management: ReturnType<typeof managementContext>

  before(async () => {
    // Only pub/sub can make the change arrive within the bound.
    fleet = await createTestFleet({ PLUGIN_RECONCILE_INTERVAL_MS: '600000', CAPTURE_BATCH_MAX_WAIT_MS: '0' })
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
  })
  after(async () => {
    await management.close()
    await fleet.close()
  })

  /** One request per event, so the events spread over both workers. */
  const send = async (team: Team, tag: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const batch = [{ event: 'e', distinct_id: `u${i}`, properties: { sent_as: tag } }]
      const res = await fetch(`${fleet.captureUrl}/batch`, { method: 'POST', body: JSON.stringify({ api_key: team.api_token, batch }) })
      assert.equal(res.status, 200)
    }
  }
  const stored = async (team: Team, tag: string) => {
    const { rows } = await fleet.db.pool.query<{ enriched_by: string | null; failed: string[] | null }>(
      `SELECT properties->>'enriched_by' AS enriched_by, properties->'$plugins_failed' AS failed FROM events WHERE team_id = $1 AND properties->>'sent_as' = $2`,
      [team.id, tag],
    )
    return rows
  }
  const storedAll = (team: Team, tag: string, n: number) =>
    eventually(
      `${n} "${tag}" events of team ${team.id} stored`,
      () => stored(team, tag),
      (rows) => rows.length === n,
    )
  /** Worker processes that wrote `message` (a LIKE pattern) for the config after log row `afterId`. */
  const workersThatLogged = async (config: PluginConfigView, message: string, afterId = 0) => {
    const { rows } = await fleet.db.pool.query<{ instance_id: string }>(
      `SELECT DISTINCT instance_id FROM plugin_log_entries WHERE plugin_config_id = $1 AND message LIKE $2 AND id > $3`,
      [config.id, message, afterId],
    )
    return rows.length
  }
  const lastLogId = async () => Number((await fleet.db.pool.query<{ id: string | null }>('SELECT max(id) AS id FROM plugin_log_entries')).rows[0].id ?? 0)

  it('a broken version 2 fails every following config; rolling back brings version 1 back on every ingest worker within the reload bound', async () => {
    const teams = [fleet.team, await createTeam(fleet.db.pool, 'second team')]
    const pinnedTeam = await createTeam(fleet.db.pool, 'pinned team')
    const v1 = await installPluginFromPath(management, writePlugin('enricher', V1))
    const configs = await Promise.all(teams.map((team) => createConfig(management, { teamId: team.id, plugin: 'enricher', enabled: true })))
    const pinned = await createConfig(management, { teamId: pinnedTeam.id, plugin: 'enricher', enabled: true, pinnedVersion: 1 })
    await fleet.start('capture')
    await fleet.start('ingest-worker')
    await fleet.start('ingest-worker')
    let round = 0
    await eventually(
      'both workers loaded version 1 for every config',
      async () => {
        const tag = `warmup-${round++}`
        for (const team of [...teams, pinnedTeam]) await send(team, tag, 10)
        await new Promise((r) => setTimeout(r, 200))
        return Promise.all([...configs, pinned].map((c) => workersThatLogged(c, 'plugin loaded (version 1;%')))
      },
      (counts) => counts.every((n) => n === 2),
      60_000,
    )

    const broken = await installPluginFromPath(management, writePlugin('enricher', BROKEN_V2))
    assert.equal(broken.plugin.version, 2)
    await new Promise((r) => setTimeout(r, RELOAD_BOUND_MS))
    for (const team of [...teams, pinnedTeam]) await send(team, 'broken', 40)
    for (const team of teams) {
      const rows = await storedAll(team, 'broken', 40)
      assert.deepEqual([...new Set(rows.map((r) => r.enriched_by))], [null], `team ${team.id}: version 2 enriched nothing`)
      assert.ok(
        rows.every((r) => r.failed?.some((label) => label.includes('enricher'))),
        `team ${team.id}: every event says the plugin failed`,
      )
    }
    const pinnedRows = await storedAll(pinnedTeam, 'broken', 40)
    assert.deepEqual([...new Set(pinnedRows.map((r) => r.enriched_by))], ['v1'], 'the config pinned to version 1 never ran version 2')

    const mark = await lastLogId()
    const started = Date.now()
    const rollback = await setCurrentVersion(management, 'enricher', 1)
    assert.equal(rollback.plugin.content_hash, v1.plugin.content_hash)
    await eventually(
      'both workers dropped version 2 of every following config',
      () => Promise.all(configs.map((c) => workersThatLogged(c, 'plugin unloaded (explicit)', mark))),
      (counts) => counts.every((n) => n === 2),
      RELOAD_BOUND_MS,
    )
    const reloadedMs = Date.now() - started
    await new Promise((r) => setTimeout(r, Math.max(0, RELOAD_BOUND_MS - reloadedMs)))
    for (const team of [...teams, pinnedTeam]) await send(team, 'rolled-back', 40)
    for (const team of [...teams, pinnedTeam]) {
      const rows = await storedAll(team, 'rolled-back', 40)
      assert.deepEqual([...new Set(rows.map((r) => r.enriched_by))], ['v1'], `team ${team.id}: version 1 again`)
      assert.ok(
        rows.every((r) => (r.failed ?? []).length === 0),
        `team ${team.id}: no failures`,
      )
    }
    round = 0
    await eventually(
      'both workers loaded version 1 again for every following config',
      async () => {
        const tag = `after-${round++}`
        for (const team of teams) await send(team, tag, 10)
        const rows = (await Promise.all(teams.map((team) => storedAll(team, tag, 10)))).flat()
        assert.deepEqual([...new Set(rows.map((r) => r.enriched_by))], ['v1'])
        return Promise.all(configs.map((c) => workersThatLogged(c, 'plugin loaded (version 1;%', mark)))
      },
      (counts) => counts.every((n) => n === 2),
      30_000,
    )
    assert.equal(await workersThatLogged(pinned, 'plugin unloaded (explicit)', mark), 0, 'the pinned config was not reloaded by the rollback')
    console.log(`      rollback reached both workers for ${configs.length} configs in ${reloadedMs} ms`)
  })
})
