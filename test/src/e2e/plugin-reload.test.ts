import assert from 'node:assert/strict'
import { updateConfig } from '@plugin-server/management'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'

describe('plugin config changes reach every running worker', function () {
  this.timeout(120_000)
  let fleet: TestFleet
  let management: ReturnType<typeof managementContext>

  before(async () => {
    // The periodic reconcile is pushed out of the way: only pub/sub can make the change arrive in time.
    fleet = await createTestFleet({ PLUGIN_RECONCILE_INTERVAL_MS: '600000', CAPTURE_BATCH_MAX_WAIT_MS: '0' })
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
  })
  after(async () => {
    await management.close()
    await fleet.close()
  })

  const send = async (tag: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${fleet.captureUrl}/batch`, {
        method: 'POST',
        body: JSON.stringify({ api_key: fleet.team.api_token, batch: [{ event: 'e', distinct_id: 'u', properties: { sent_as: tag } }] }),
      })
      assert.equal(res.status, 200)
    }
  }
  const tags = async (sentAs: string) => {
    const { rows } = await fleet.db.pool.query<{ tag: string }>(`SELECT properties->>'tag' AS tag FROM events WHERE properties->>'sent_as' = $1`, [sentAs])
    return rows.map((r) => r.tag)
  }

  it('within 2 s, on two ingest-worker processes', async () => {
    const config = await enablePlugin(
      management,
      fleet.team.id,
      writePlugin('tagger', `export function processEvent(e, { config }) { e.properties.tag = config.tag; return e }`, [
        { key: 'tag', type: 'string', required: true },
      ]),
      { tag: 'v1' },
    )
    await fleet.start('capture')
    await fleet.start('ingest-worker')
    await fleet.start('ingest-worker')
    // Both workers must have loaded the config for the test to mean anything.
    let round = 0
    await eventually(
      'both workers loaded the plugin',
      async () => {
        await send(`warmup-${round++}`, 10)
        await new Promise((r) => setTimeout(r, 200))
        const { rows } = await fleet.db.pool.query(
          `SELECT DISTINCT instance_id FROM plugin_log_entries WHERE plugin_config_id = $1 AND message LIKE 'plugin loaded%'`,
          [config.id],
        )
        return rows.length
      },
      (n) => n === 2,
      60_000,
    )
    assert.deepEqual([...new Set(await tags('warmup-0'))], ['v1'])

    await updateConfig(management, config.id, { config: { tag: 'v2' } })
    await new Promise((r) => setTimeout(r, 2000))
    await send('after', 40)
    await eventually(
      'events stored',
      async () => (await tags('after')).length,
      (n) => n === 40,
    )
    assert.deepEqual([...new Set(await tags('after'))], ['v2'])
    const { rows } = await fleet.db.pool.query(
      `SELECT DISTINCT instance_id FROM plugin_log_entries WHERE plugin_config_id = $1 AND message = 'plugin unloaded (explicit)'`,
      [config.id],
    )
    assert.equal(rows.length, 2, 'both workers tore the old instance down')
  })
})
