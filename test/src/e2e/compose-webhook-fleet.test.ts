import assert from 'node:assert/strict'
import { Destination } from '../export/destination'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'

// A team whose only exporting plugin has composeWebhook: the ingest workers hand its stored events
// to the exporters as they do for onEvent / exportEvents, so the webhook is sent.
describe('composeWebhook in a running fleet', function () {
  this.timeout(120_000)
  let fleet: TestFleet
  let management: ReturnType<typeof managementContext>
  let destination: Destination

  before(async () => {
    fleet = await createTestFleet({ CAPTURE_BATCH_MAX_WAIT_MS: '0' })
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    destination = new Destination()
  })
  after(async () => {
    await destination.close()
    await management.close()
    await fleet.close()
  })

  it('sends the webhook of a team whose only exporting plugin has composeWebhook', async () => {
    const url = `${await destination.start()}/hook`
    const hook = writePlugin(
      'hook-only',
      `export function composeWebhook(event, { config }) {
        return { url: config.url, body: JSON.stringify({ event: event.event, uuid: event.uuid }), headers: { 'content-type': 'application/json' }, method: 'POST' }
      }`,
      [{ key: 'url', type: 'string', required: true }],
    )
    await enablePlugin(management, fleet.team.id, hook, { url }, { order: 1 })
    await Promise.all(['capture', 'ingest-worker', 'exporter'].map((role) => fleet.start(role)))
    const res = await fetch(`${fleet.captureUrl}/batch`, {
      method: 'POST',
      body: JSON.stringify({ api_key: fleet.team.api_token, batch: [{ event: 'pageview', distinct_id: 'u1', properties: { a: 1 } }] }),
    })
    assert.equal(res.status, 200)
    const hooks = await eventually(
      'the webhook sent',
      async () => destination.received.filter((r) => r.path === '/hook'),
      (r) => r.length >= 1,
    )
    assert.equal(hooks[0].body.event, 'pageview')
  })
})
