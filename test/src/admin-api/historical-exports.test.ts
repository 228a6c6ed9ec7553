import assert from 'node:assert/strict'
import type { HistoricalRunView } from '@plugin-server/admin-api'
import { insertEvents } from '@plugin-server/db'
import { Destination } from '../export/destination'
import { testEvent } from '../export/export-setup'
import { eventually } from '../harness/fleet'
import { runCli } from '../harness/processes'
import { AdminFleet, startAdminFleet } from './admin-fleet'

describe('historical exports of a config: /api/configs/:id/historical-exports', function () {
  this.timeout(120_000)
  let f: AdminFleet
  let destination: Destination
  let id: number
  const url = () => `/api/configs/${id}/historical-exports`
  const range = { from: '2024-01-01T00:00:00.000Z', to: '2024-01-02T00:00:00.000Z' }

  before(async () => {
    destination = new Destination()
    const sink = await destination.start()
    // No exporter yet: the API process only enqueues runs. Every process in +05:45: nothing may read times in the local zone.
    f = await startAdminFleet(['capture'], { TZ: 'Asia/Kathmandu' })
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

  it('refuses (400) a config whose plugin has no exportEvents, or a disabled one, naming the plugin, the config and why', async () => {
    const hello = await f.enable('hello-world')
    const noExport = await f.call('POST', `/api/configs/${hello}/historical-exports`, range)
    assert.equal(noExport.status, 400, noExport.text)
    const { error } = noExport.json<{ error: { code: string; message: string } }>()
    assert.equal(error.code, 'validation_error')
    assert.match(error.message, new RegExp(`^plugin "Hello Fixture" version \\d+ \\(plugin config ${hello}\\) has no exportEvents method`))
    assert.deepEqual(await f.ok('GET', `/api/configs/${hello}/historical-exports`), [], 'no run was made')

    await f.ok('POST', `/api/configs/${id}/disable`)
    try {
      const disabled = await f.call('POST', url(), range)
      assert.equal(disabled.status, 400, disabled.text)
      assert.match(disabled.json<{ error: { message: string } }>().error.message, new RegExp(`^plugin config ${id} \\(plugin "[^"]+"\\) is disabled`))
    } finally {
      await f.ok('POST', `/api/configs/${id}/enable`)
    }
    assert.deepEqual(await f.ok('GET', url()), [])
  })

  it('enqueues a run (202) once per range fleet-wide; it stays queued until an exporter runs it to done', async () => {
    const [started, same] = await Promise.all([
      f.ok<HistoricalRunView>('POST', url(), { ...range, batch_size: 100 }, 202, f.teamToken),
      f.ok<HistoricalRunView>('POST', url(), { ...range, batch_size: 100 }, 202),
    ])
    assert.equal(same.id, started.id, 'a second start of the same range answers the same run')
    assert.deepEqual(
      { status: started.status, from: started.from, to: started.to, total: started.total, done: started.done, finished_at: started.finished_at },
      { status: 'queued', ...range, total: null, done: 0, finished_at: null },
    )
    const overlapping = await f.call('POST', url(), { from: '2024-01-01T12:00:00Z', to: '2024-01-03T00:00:00Z' })
    assert.equal(overlapping.status, 409, overlapping.text)
    assert.match(overlapping.json<{ error: { message: string } }>().error.message, new RegExp(`run ${started.id} .*overlaps this range`))
    const queued = await f.ok<HistoricalRunView>('GET', `${url()}/${started.id}`, undefined, 200, f.teamToken)
    assert.equal(queued.status, 'queued', 'nothing in the API process runs it')
    const earlier = await f.ok<HistoricalRunView>('POST', url(), { from: '2023-01-01T00:00:00Z', to: '2023-01-02T00:00:00Z' }, 202)
    assert.equal((await f.ok<HistoricalRunView>('POST', `${url()}/${earlier.id}/cancel`)).status, 'cancelled', 'a queued run is cancelled too')

    await f.fleet.start('exporter')
    const done = await eventually(
      'the run done',
      () => f.ok<HistoricalRunView>('GET', `${url()}/${started.id}`),
      (run) => run.status === 'done',
    )
    assert.deepEqual(
      {
        total: done.total,
        enqueued: done.enqueued,
        exported: done.exported,
        failed: done.failed,
        skipped: done.skipped,
        done: done.done,
        percent: done.percent,
      },
      { total: 251, enqueued: 250, exported: 250, failed: 0, skipped: 1, done: 251, percent: 100 },
    )
    assert.ok(done.finished_at !== null && done.started_at !== null && Date.parse(done.finished_at) >= Date.parse(done.started_at))
    assert.ok(Date.parse(done.snapshot_at) >= Date.parse(done.created_at) && done.eta_seconds === null)
    const delivered = destination.deliveredUuids('/history')
    assert.equal(delivered.length, 250)
    assert.equal(new Set(delivered).size, 250, 'no event exported twice')
    assert.equal(destination.on('/history').length, 3, 'in batches of at most 100')
    const wrapped = await eventually(
      'the run cancelled before an exporter started it wrapped up',
      () => f.ok<HistoricalRunView>('GET', `${url()}/${earlier.id}`),
      (run) => run.finished_at !== null,
    )
    assert.deepEqual({ status: wrapped.status, total: wrapped.total, done: wrapped.done }, { status: 'cancelled', total: null, done: 0 })
  })

  it('a finished range started again is a new run, listed first', async () => {
    const again = await f.ok<HistoricalRunView>('POST', url(), range, 202)
    const runs = await eventually(
      'the second run done',
      () => f.ok<HistoricalRunView[]>('GET', url()),
      (r) => r.length === 3 && r.filter((run) => run.from === range.from).every((run) => run.status === 'done'),
    )
    const ofRange = runs.filter((run) => run.from === range.from)
    assert.equal(ofRange.length, 2)
    assert.equal(runs[0].id, again.id)
    assert.ok(ofRange[0].id > ofRange[1].id)
  })

  it('POST …/:run/cancel cancels a running run (200, cancelled), then 409; an unknown run is 404', async () => {
    destination.responder = () => 'hold'
    const run = await f.ok<HistoricalRunView>('POST', url(), { ...range, batch_size: 10 }, 202)
    // Both of the config's delivery slots held: every other page of the run waits in the queue.
    await eventually(
      'two batches held',
      async () => destination.heldCount(),
      (n) => n === 2,
    )
    const cancelled = await f.ok<HistoricalRunView>('POST', `${url()}/${run.id}/cancel`, undefined, 200, f.teamToken)
    assert.equal(cancelled.status, 'cancelled')
    assert.ok(cancelled.cancelled_at !== null)
    const sent = destination.on('/history').length
    destination.responder = () => 200
    destination.release()
    const end = await eventually(
      'the cancelled run wrapped up',
      () => f.ok<HistoricalRunView>('GET', `${url()}/${run.id}`),
      (r) => r.finished_at !== null,
    )
    assert.equal(end.status, 'cancelled')
    assert.ok(end.done < end.total!, `stopped part way: ${end.done}/${end.total}`)
    assert.equal(destination.on('/history').length, sent, 'no batch sent after the cancel')
    const again = await f.call('POST', `${url()}/${run.id}/cancel`)
    assert.equal(again.status, 409, again.text)
    assert.equal((await f.call('POST', `${url()}/999999/cancel`)).status, 404)
    assert.equal((await f.call('GET', `${url()}/999999`)).status, 404)
  })

  it('reads a zone-less from and to as UTC, not in the local zone of the API process or the CLI (both in Asia/Kathmandu)', async () => {
    const api = await f.ok<HistoricalRunView>('POST', url(), { from: '2025-03-01T00:00', to: '2025-03-01 06:00:00' }, 202)
    assert.deepEqual([api.from, api.to], ['2025-03-01T00:00:00.000Z', '2025-03-01T06:00:00.000Z'])
    const cli = await runCli(['export', 'historical', String(id), '--from', '2025-04-01T00:00', '--to', '2025-04-01 06:00', '--detach'], {
      ...f.fleet.env,
      TZ: 'Asia/Kathmandu',
      LOG_LEVEL: 'warn',
    })
    assert.equal(cli.code, 0, cli.stderr)
    const run = JSON.parse(cli.stdout) as { from: string; to: string }
    assert.deepEqual([run.from, run.to], ['2025-04-01T00:00:00.000Z', '2025-04-01T06:00:00.000Z'])
  })

  it("is 403 for another team's token", async () => {
    const [run] = await f.ok<HistoricalRunView[]>('GET', url())
    await f.assertOtherTeamForbidden([
      ['GET', url()],
      ['POST', url(), range],
      ['GET', `${url()}/${run.id}`],
      ['POST', `${url()}/${run.id}/cancel`],
    ])
  })
})
