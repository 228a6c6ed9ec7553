import assert from 'node:assert/strict'
import type { HistoricalRunView } from '@plugin-server/admin-api'
import { insertEvents } from '@plugin-server/db'
import { Destination } from '../export/destination'
import { testEvent } from '../export/export-setup'
import { eventually } from '../harness/fleet'
import { AdminFleet, startAdminFleet } from './admin-fleet'

describe('historical exports of a config: GET and POST /api/configs/:id/historical-exports', function () {
  this.timeout(120_000)
  let f: AdminFleet
  let destination: Destination
  let id: number
  const url = () => `/api/configs/${id}/historical-exports`
  const range = { from: '2024-01-01T00:00:00.000Z', to: '2024-01-02T00:00:00.000Z' }

  before(async () => {
    destination = new Destination()
    const sink = await destination.start()
    f = await startAdminFleet(['capture', 'exporter'])
    id = await f.enable('export-batch', { url: `${sink}/history`, exportEventsToIgnore: 'ignored' })
    const base = Date.parse(range.from)
    await insertEvents(f.fleet.db.pool, [
      ...Array.from({ length: 250 }, (_, i) => ({ ...testEvent(f.fleet.team.id, 'old'), timestamp: new Date(base + i * 1000).toISOString() })),
      { ...testEvent(f.fleet.team.id, 'ignored'), timestamp: range.from },
      { ...testEvent(f.fleet.team.id, 'too late'), timestamp: range.to },
    ])
  })
  after(async () => {
    await f.close()
    await destination.close()
  })

  it('refuses a range that is not two ISO times, from before to, naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ to: range.to }, 'from'],
      [{ from: 'yesterday', to: range.to }, 'from'],
      [{ from: range.from, to: 12 }, 'to'],
      [{ from: range.to, to: range.from }, 'from'],
      [{ ...range, batch_size: 0 }, 'batch_size'],
    ]
    for (const [body, field] of cases) {
      const reply = await f.call('POST', url(), body)
      assert.equal(reply.status, 400, reply.text)
      assert.equal(reply.json<{ error: { field: string } }>().error.field, field, reply.text)
    }
    assert.deepEqual(await f.ok('GET', url()), [])
  })

  it('starts a run in the API process (202), once per range, and it finishes with every event exported', async () => {
    const [started, same] = await Promise.all([
      f.ok<HistoricalRunView>('POST', url(), { ...range, batch_size: 100 }, 202, f.teamToken),
      f.ok<HistoricalRunView>('POST', url(), { ...range, batch_size: 100 }, 202),
    ])
    assert.equal(same.id, started.id, 'the same range is driven once')
    assert.deepEqual(
      { status: started.status, from: started.from, to: started.to, total: started.total, finished_at: started.finished_at, error: started.error },
      { status: 'running', ...range, total: 250, finished_at: null, error: null },
    )
    assert.ok(!Number.isNaN(Date.parse(started.created_at)))
    const [done] = await eventually(
      'the run done',
      () => f.ok<HistoricalRunView[]>('GET', url(), undefined, 200, f.teamToken),
      (runs) => runs.length === 1 && runs[0].status === 'done',
    )
    assert.deepEqual({ id: done.id, total: done.total, enqueued: done.enqueued, done: done.done }, { id: started.id, total: 250, enqueued: 250, done: 250 })
    assert.ok(done.finished_at !== null && Date.parse(done.finished_at) >= Date.parse(done.created_at))
    const delivered = destination.deliveredUuids('/history')
    assert.equal(delivered.length, 250)
    assert.equal(new Set(delivered).size, 250, 'no event exported twice')
    assert.equal(destination.on('/history').length, 3, 'in batches of at most 100')
  })

  it('a finished range started again is a new run, listed first', async () => {
    const again = await f.ok<HistoricalRunView>('POST', url(), range, 202)
    const runs = await eventually(
      'the second run done',
      () => f.ok<HistoricalRunView[]>('GET', url()),
      (r) => r.length === 2 && r.every((run) => run.status === 'done'),
    )
    assert.equal(runs[0].id, again.id)
    assert.ok(runs[0].id > runs[1].id)
  })

  it("is 403 for another team's token", async () => {
    await f.assertOtherTeamForbidden([
      ['GET', url()],
      ['POST', url(), range],
    ])
  })
})
