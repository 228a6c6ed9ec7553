import assert from 'node:assert/strict'
import type { ConfigStatusView } from '@plugin-server/admin-api'
import type { ExportSeries } from '@plugin-server/export'
import { Destination } from '../export/destination'
import { eventually } from '../harness/fleet'
import { AdminFleet, sendEvents, startAdminFleet } from './admin-fleet'

interface DeadLetterView {
  id: number
  method: string
  event_count: number
  error: string
  retry_error: boolean
  attempts: number
  first_attempt_at: string
  last_attempt_at: string
  created_at: string
  replayed_at: string | null
}

describe('export dead letters (list, replay) and the export series of a config', function () {
  this.timeout(120_000)
  let f: AdminFleet
  let destination: Destination
  let id: number
  const letters = () => f.ok<DeadLetterView[]>('GET', `/api/configs/${id}/dead-letters`, undefined, 200, f.teamToken)
  const status = () => f.ok<ConfigStatusView>('GET', `/api/configs/${id}/status`)

  before(async () => {
    destination = new Destination()
    const url = await destination.start()
    // The destination refuses (4xx: a plain Error, never retried) until the test fixes it.
    destination.responder = () => 400
    f = await startAdminFleet(['capture', 'ingest-worker', 'exporter'], { EXPORT_BUFFER_MAX_AGE_MS: '200', EXPORT_FLUSH_INTERVAL_MS: '50' })
    id = await f.enable('export-batch', { url: `${url}/sink` })
  })
  after(async () => {
    await f.close()
    await destination.close()
  })

  it('a refused batch becomes a dead letter, listed without its events and counted on the status', async () => {
    await sendEvents(f.fleet, [{ event: 'one' }, { event: 'two' }, { event: 'three' }])
    const listed = await eventually('dead letters for the three events', letters, (l) => l.reduce((n, d) => n + d.event_count, 0) === 3)
    for (const letter of listed) {
      assert.deepEqual(Object.keys(letter).sort(), [
        'attempts',
        'created_at',
        'error',
        'event_count',
        'first_attempt_at',
        'id',
        'last_attempt_at',
        'method',
        'replayed_at',
        'retry_error',
      ])
      assert.equal(letter.method, 'exportEvents')
      assert.match(letter.error, /destination refused the batch: 400/)
      assert.equal(letter.retry_error, false)
      assert.equal(letter.replayed_at, null)
    }
    const ids = listed.map((l) => l.id)
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
      'newest first',
    )
    const { export: exported } = await eventually('metrics counted', status, (s) => s.export.metrics.undelivered_events === 3)
    assert.equal(exported.metrics.events_seen, 3)
    assert.deepEqual(exported.dead_letters, { pending: listed.length, pendingEvents: 3, replayed: 0 })
  })

  it('the export series has a point per minute, zeros included, with the events seen', async () => {
    const series = await f.ok<ExportSeries>('GET', `/api/configs/${id}/export-series?minutes=5`, undefined, 200, f.teamToken)
    assert.equal(series.bucket_seconds, 60)
    assert.equal(series.points.length, 5)
    const times = series.points.map((p) => Date.parse(p.t))
    times.slice(1).forEach((t, i) => assert.equal(t - times[i], 60_000))
    assert.ok(Date.now() - times[4] < 60_000 && times[4] % 60_000 === 0, 'the last point is the current minute')
    assert.equal(
      series.points.reduce((n, p) => n + p.events_seen, 0),
      3,
    )
    assert.ok(series.points.some((p) => p.events_seen > 0 && p.undelivered_events > 0))
    assert.ok(
      series.points.some((p) => p.events_seen === 0),
      'minutes without exports are zeros',
    )
    assert.equal((await f.ok<ExportSeries>('GET', `/api/configs/${id}/export-series`)).points.length, 60)
    for (const bad of ['0', '1441', 'soon']) {
      const reply = await f.call('GET', `/api/configs/${id}/export-series?minutes=${bad}`)
      assert.equal(reply.status, 400, reply.text)
      assert.equal(reply.json<{ error: { field: string } }>().error.field, 'minutes')
    }
  })

  it('replays the given dead letters, then all pending; the destination receives the events', async () => {
    const pending = await letters()
    destination.responder = () => 200
    const unknown = await f.call('POST', `/api/configs/${id}/dead-letters/replay`, { ids: [999_999] })
    assert.equal(unknown.status, 400, unknown.text)
    assert.equal(unknown.json<{ error: { field: string } }>().error.field, 'ids')

    const [first, ...rest] = pending
    assert.deepEqual(await f.ok('POST', `/api/configs/${id}/dead-letters/replay`, { ids: [first.id] }, 200, f.teamToken), {
      replayed: 1,
      events: first.event_count,
      not_replayed: 0,
      held_back: null,
      remaining: 0,
    })
    await eventually(
      'the replayed events delivered',
      async () => destination.deliveredUuids('/sink').length,
      (n) => n === first.event_count,
    )
    const again = await f.call('POST', `/api/configs/${id}/dead-letters/replay`, { ids: [first.id] })
    assert.equal(again.status, 400, 'a replayed dead letter is not replayed twice')

    const events = rest.reduce((n, d) => n + d.event_count, 0)
    assert.deepEqual(await f.ok('POST', `/api/configs/${id}/dead-letters/replay`, {}), {
      replayed: rest.length,
      events,
      not_replayed: 0,
      held_back: null,
      remaining: 0,
    })
    await eventually(
      'every event delivered',
      async () => new Set(destination.deliveredUuids('/sink')).size,
      (n) => n === 3,
    )
    assert.ok((await letters()).every((l) => l.replayed_at !== null))
    const after = await eventually('delivered counted', status, (s) => s.export.metrics.events_delivered_successfully === 3)
    assert.deepEqual(after.export.dead_letters, { pending: 0, pendingEvents: 0, replayed: pending.length })
  })

  it('refuses more than 1000 ids, and names at most 20 of the ids that are not pending dead letters', async () => {
    const tooMany = await f.call('POST', `/api/configs/${id}/dead-letters/replay`, { ids: Array.from({ length: 1001 }, (_, i) => i + 1) }, f.teamToken)
    assert.equal(tooMany.status, 400, tooMany.text.slice(0, 300))
    assert.deepEqual(tooMany.json(), { error: { code: 'validation_error', message: 'ids must list at most 1000 ids (got 1001)', field: 'ids' } })
    const unknownIds = Array.from({ length: 1000 }, (_, i) => 900_001 + i)
    const unknown = await f.call('POST', `/api/configs/${id}/dead-letters/replay`, { ids: unknownIds }, f.teamToken)
    assert.equal(unknown.status, 400, unknown.text.slice(0, 300))
    const shown = unknownIds.slice(0, 20).join(', ')
    assert.deepEqual(unknown.json(), {
      error: { code: 'validation_error', message: `ids: not dead letters of config ${id} waiting for a replay: ${shown} and 980 more`, field: 'ids' },
    })
  })

  it("is 403 for another team's token", async () => {
    await f.assertOtherTeamForbidden([
      ['GET', `/api/configs/${id}/dead-letters`],
      ['POST', `/api/configs/${id}/dead-letters/replay`, {}],
      ['GET', `/api/configs/${id}/export-series`],
    ])
  })
})
