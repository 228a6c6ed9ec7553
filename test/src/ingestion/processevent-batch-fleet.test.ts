import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'

describe('a processEventBatch plugin in a running fleet', function () {
  this.timeout(120_000)
  let fleet: TestFleet
  let management: ReturnType<typeof managementContext>

  before(async () => {
    fleet = await createTestFleet()
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
  })
  after(async () => {
    await management.close()
    await fleet.close()
  })

  it('enriches what capture received, drops the events it leaves out, and lists itself as succeeded', async () => {
    const config = await enablePlugin(
      management,
      fleet.team.id,
      writePlugin(
        'batch-enricher',
        `export function processEventBatch(events) {
          return events.filter((e) => e.event !== 'drop me').map((e) => ({ ...e, properties: { ...e.properties, batchSize: events.length } }))
        }`,
      ),
    )
    await fleet.start('capture')
    await fleet.start('ingest-worker')
    const run = randomUUID()
    const batch = ['kept 1', 'drop me', 'kept 2'].map((event) => ({ event, distinct_id: 'u', properties: { run } }))
    const res = await fetch(`${fleet.captureUrl}/batch`, { method: 'POST', body: JSON.stringify({ api_key: fleet.team.api_token, batch }) })
    assert.equal(res.status, 200)
    const rows = await eventually(
      'the kept events are stored',
      async () =>
        (
          await fleet.db.pool.query<{ event: string; properties: Record<string, unknown> }>(
            `SELECT event, properties FROM events WHERE properties->>'run' = $1 ORDER BY event`,
            [run],
          )
        ).rows,
      (r) => r.length === 2,
    )
    assert.deepEqual(
      rows.map((r) => r.event),
      ['kept 1', 'kept 2'],
    )
    for (const row of rows) {
      assert.ok(Number(row.properties.batchSize) >= 1, 'the plugin saw the batch')
      assert.deepEqual(row.properties.$plugins_succeeded, [`batch-enricher (${config.id})`])
      assert.deepEqual(row.properties.$plugins_failed, [])
    }
    const dropped = await fleet.db.pool.query(`SELECT 1 FROM events WHERE properties->>'run' = $1 AND event = 'drop me'`, [run])
    assert.equal(dropped.rowCount, 0)
  })
})
