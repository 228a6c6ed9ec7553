import assert from 'node:assert/strict'
import { Destination } from '../export/destination'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'

// The reference: onEvent runs after every enabled plugin's processEvent (it sees the event's final
// form, whatever the order of the configs); onSnapshot gets the $snapshot events, which skip
// processEvent, and onEvent never sees them.
describe('onEvent and onSnapshot in a running fleet', function () {
  this.timeout(120_000)
  let fleet: TestFleet
  let management: ReturnType<typeof managementContext>
  let destination: Destination

  before(async () => {
    fleet = await createTestFleet({ CAPTURE_BATCH_MAX_WAIT_MS: '0', EXPORT_BUFFER_MAX_AGE_MS: '200', EXPORT_FLUSH_INTERVAL_MS: '50' })
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    destination = new Destination()
  })
  after(async () => {
    await destination.close()
    await management.close()
    await fleet.close()
  })

  it('gives onEvent the event after every processEvent, also those of configs after it, and $snapshot events to onSnapshot only', async () => {
    const url = `${await destination.start()}/seen`
    const watcher = writePlugin(
      'watcher',
      `async function post(kind, event, url) {
        await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind, event: event.event, properties: event.properties }) })
      }
      export async function processEvent(event) { event.properties.watcher_saw = Object.keys(event.properties).sort().join(','); return event }
      export async function onEvent(event, { config }) { await post('onEvent', event, config.url) }
      export async function onSnapshot(event, { config }) { await post('onSnapshot', event, config.url) }`,
      [{ key: 'url', type: 'string', required: true }],
    )
    const enricher = writePlugin(
      'enricher',
      `export function processEvent(event) { event.properties.enriched = 'by the config after the watcher'; return event }`,
    )
    await enablePlugin(management, fleet.team.id, watcher, { url }, { order: 1 })
    await enablePlugin(management, fleet.team.id, enricher, {}, { order: 2 })
    await Promise.all(['capture', 'ingest-worker', 'exporter'].map((role) => fleet.start(role)))

    const res = await fetch(`${fleet.captureUrl}/batch`, {
      method: 'POST',
      body: JSON.stringify({
        api_key: fleet.team.api_token,
        batch: [
          { event: 'pageview', distinct_id: 'u1', properties: { sent: true } },
          { event: '$snapshot', distinct_id: 'u1', properties: { sent: true, $snapshot_data: { chunk: 1 } } },
        ],
      }),
    })
    assert.equal(res.status, 200)
    const received = await eventually(
      'both events seen by the watcher',
      async () => destination.received.filter((r) => r.path === '/seen').map((r) => r.body),
      (bodies) => bodies.length >= 2,
      60_000,
    )
    const mine = (properties: unknown) =>
      Object.fromEntries(Object.entries(properties as Record<string, unknown>).filter(([key]) => !key.startsWith('$plugins')))
    const onEvent = received.filter((b) => b.kind === 'onEvent')
    const onSnapshot = received.filter((b) => b.kind === 'onSnapshot')
    assert.equal(onEvent.length, 1, JSON.stringify(received))
    assert.equal(onEvent[0].event, 'pageview')
    const { $ip, ...rest } = mine(onEvent[0].properties)
    assert.deepEqual(rest, { sent: true, watcher_saw: 'sent', enriched: 'by the config after the watcher' })
    assert.match(String($ip), /127\.0\.0\.1$/, 'and the client address, as stored ($ip)')
    assert.equal(onSnapshot.length, 1, JSON.stringify(received))
    assert.equal(onSnapshot[0].event, '$snapshot')
    assert.deepEqual(mine(onSnapshot[0].properties), { sent: true, $snapshot_data: { chunk: 1 } }, 'no processEvent ran on the $snapshot event')
  })
})
