import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { eventually } from '../harness/fleet'
import { writePlugin } from '../harness/plugins'
import { exportSetup, ExportSetup, testEvent } from './export-setup'

// Fan-out's few slots are every team's: it hands events to delivery jobs without waiting for a
// config's setupPlugin, whose wait is the delivery jobs' (within their team's share of the slots).
describe('fan-out while a config of another team is still setting up', function () {
  this.timeout(180_000)
  let s: ExportSetup
  before(async () => {
    s = await exportSetup()
  })
  after(async () => {
    await s.close()
  })

  it("hands another team's events over while one team's setupPlugin hangs, and delivers the hanging team's once its setup ends", async () => {
    const slowTeam = await createTeam(s.db.pool, 'slow setup team')
    const slow = writePlugin(
      'slow-setup',
      `export async function setupPlugin({ config }) { await fetch(config.url + '/setup') }
       export async function onEvent(event, { config }) {
         await fetch(config.url + '/seen', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event: event.event }) })
       }`,
      [{ key: 'url', type: 'string', required: true }],
    )
    await s.enable(slowTeam.id, slow, { url: s.url })
    await s.enable(s.team.id, 'export-on-event', { url: `${s.url}/b` })
    // The setup's request is held until released below: its setupPlugin hangs meanwhile.
    s.destination.responder = ({ path }) => (path === '/setup' ? 'hold' : 200)
    await s.startExporter({ PLUGIN_TIMEOUT_MS: '600000', EXPORT_FANOUT_CONCURRENCY: '2' })
    for (let i = 0; i < 4; i++) await s.handoff(slowTeam.id, [testEvent(slowTeam.id, `slow-${i}`)])
    await eventually(
      'the slow setup started',
      async () => s.destination.heldCount(),
      (n) => n >= 1,
    )
    await s.handoff(s.team.id, [testEvent(s.team.id, 'other team')])
    await eventually(
      'the other team’s event delivered',
      async () => s.destination.on('/b').length,
      (n) => n >= 1,
    )
    assert.equal(s.destination.heldCount(), 1, 'delivered while the slow setup still hangs')
    s.destination.release(200)
    const seen = await eventually(
      'the slow team’s events delivered once set up',
      async () => s.destination.on('/seen'),
      (r) => r.length >= 4,
    )
    assert.deepEqual(seen.map((r) => r.body.event).sort(), ['slow-0', 'slow-1', 'slow-2', 'slow-3'])
  })
})
