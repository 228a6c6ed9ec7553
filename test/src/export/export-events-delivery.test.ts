import assert from 'node:assert/strict'
import { eventually } from '../harness/fleet'
import { exportSetup, ExportSetup, testEvent } from './export-setup'

describe('exportEvents deliveries as PostHog made them: no recordings, waits retried', function () {
  this.timeout(120_000)
  let s: ExportSetup
  beforeEach(async () => {
    s = await exportSetup()
  })
  afterEach(async () => {
    await s.close()
  })

  it('gives exportEvents every event of a hand-off but recordings ($snapshot), which go to onSnapshot only, as in PostHog', async () => {
    await s.enable(s.team.id, 'export-batch', { url: `${s.url}/batch`, exportEventsBufferBytes: '1' })
    await s.startExporter()
    const pageview = testEvent(s.team.id, '$pageview')
    await s.handoff(s.team.id, [testEvent(s.team.id, '$snapshot'), pageview, testEvent(s.team.id, '$snapshot')])
    const batches = await eventually(
      'the batch exported',
      async () => s.destination.on('/batch'),
      (r) => r.length >= 1,
    )
    const exported = batches.flatMap((r) => (r.body as { events: { uuid: string; event: string }[] }).events)
    assert.deepEqual(
      exported.map((e) => [e.event, e.uuid]),
      [['$pageview', pageview.uuid]],
    )
  })

  it('retries an exportEvents call that ran out of time waiting on its destination, never counting it towards disabling the config', async () => {
    try {
      const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/slow`, exportEventsBufferBytes: '1' })
      // The first three batches' requests hang past the call's deadline; one breach would disable the config.
      s.destination.responder = ({ index }) => (index < 3 ? 'hold' : 200)
      await s.startExporter({ PLUGIN_TIMEOUT_MS: '1000', PLUGIN_BREAKER_MAX_BREACHES: '1' })
      const event = testEvent(s.team.id, 'slow destination')
      await s.handoff(s.team.id, [event])
      const answered = await eventually(
        'the batch exported once the destination answers',
        async () => s.destination.on('/slow').filter((r) => r.status === 200),
        (r) => r.length >= 1,
      )
      assert.deepEqual(
        (answered[0].body as { events: { uuid: string }[] }).events.map((e) => e.uuid),
        [event.uuid],
      )
      // Three attempts timed out; a busy machine may time out one more before an answer.
      assert.ok(s.destination.on('/slow').length >= 4, `${s.destination.on('/slow').length} requests`)
      const { rows } = await s.db.pool.query('SELECT enabled FROM plugin_configs WHERE id = $1', [configId])
      assert.equal(rows[0].enabled, true)
    } finally {
      s.destination.release(200)
    }
  })

  it('delivers a hand-off naming a config this exporter has not heard of (its reload message lost) after re-reading the team, instead of acknowledging it without', async () => {
    const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/late`, exportEventsBufferBytes: '1' })
    await s.db.pool.query('UPDATE plugin_configs SET enabled = false WHERE id = $1', [configId])
    await s.startExporter({ PLUGIN_RECONCILE_INTERVAL_MS: '3600000' })
    // Turned on without the message every worker reloads on; the ingest worker that stored the events knew of it.
    await s.db.pool.query('UPDATE plugin_configs SET enabled = true WHERE id = $1', [configId])
    const event = testEvent(s.team.id, 'after the enable')
    await s.exportQueue.add('events', { teamId: s.team.id, events: [event], configIds: [configId] }, { jobId: `x-late-${s.team.id}` })
    const delivered = await eventually(
      'the batch delivered',
      async () => s.destination.deliveredUuids('/late'),
      (uuids) => uuids.length >= 1,
    )
    assert.deepEqual(delivered, [event.uuid])
  })
})
