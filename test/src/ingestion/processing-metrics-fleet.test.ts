import assert from 'node:assert/strict'
import { eventually } from '../harness/fleet'
import type { FleetProcess } from '../harness/processes'
import { writePlugin } from '../harness/plugins'
import { AdminFleet, sendEvents, startAdminFleet } from '../admin-api/admin-fleet'

interface Counts {
  events_in: number
  events_returned: number
  events_dropped: number
  events_failed: number
  calls: number
  time_ms: number
}

interface Summary extends Counts {
  p50_ms: number | null
  p99_ms: number | null
}

interface Series {
  bucket_seconds: number
  points: (Summary & { t: string })[]
  total: Summary
}

const PROBE = writePlugin(
  'processing-probe',
  `export function processEvent(event) {
    if (event.event === 'drop') return null
    if (event.event === 'boom') throw new Error('boom on purpose')
    return { ...event, properties: { ...event.properties, probed: true } }
  }`,
)

/** One request's events: 5 returned, 3 dropped, 2 failed. */
const REQUEST = [...Array(5).fill('keep'), ...Array(3).fill('drop'), ...Array(2).fill('boom')].map((event: string) => ({ event }))
const REQUESTS = 4

/** This process's `plugin_process_event_events_total` by outcome, for one plugin. */
async function prometheusOutcomes(worker: FleetProcess, plugin: string): Promise<Record<string, number>> {
  const port = worker.lines.find((l) => l.msg === 'ingest-worker started')?.healthPort
  assert.equal(typeof port, 'number', 'the ingest worker logged its health port')
  const text = await (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).text()
  const outcomes: Record<string, number> = {}
  for (const line of text.split('\n')) {
    if (!line.startsWith('plugin_process_event_events_total{') || !line.includes(`plugin="${plugin}"`)) continue
    const outcome = /outcome="([a-z]+)"/.exec(line)?.[1]
    if (outcome) outcomes[outcome] = Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return outcomes
}

describe('per-config processing metrics in a running fleet', function () {
  this.timeout(120_000)
  let admin: AdminFleet
  let workers: FleetProcess[]
  let configId: number
  let startedAt: number

  before(async () => {
    admin = await startAdminFleet(['capture'])
    configId = await admin.enable(PROBE)
    // Two ingest workers: the series is the fleet's, whichever worker ran a batch.
    workers = await Promise.all([admin.fleet.start('ingest-worker'), admin.fleet.start('ingest-worker')])
    startedAt = Date.now()
    for (let i = 0; i < REQUESTS; i++) await sendEvents(admin.fleet, REQUEST)
  })
  after(async () => admin?.close())

  it('counts every event in, returned, dropped and failed per minute, summed over the ingest workers', async () => {
    const series = await eventually(
      'the admin API counts every event sent',
      () => admin.ok<Series>('GET', `/api/configs/${configId}/processing-series?minutes=10`),
      (s) => s.total.events_in === REQUESTS * REQUEST.length,
    )
    assert.equal(series.bucket_seconds, 60)
    assert.equal(series.points.length, 10)
    assert.deepEqual(
      { returned: series.total.events_returned, dropped: series.total.events_dropped, failed: series.total.events_failed },
      { returned: REQUESTS * 5, dropped: REQUESTS * 3, failed: REQUESTS * 2 },
    )
    const firstMinute = Math.floor(startedAt / 60_000) * 60_000
    for (const point of series.points) {
      assert.equal(point.events_in, point.events_returned + point.events_dropped + point.events_failed, `every event of ${point.t} has one outcome`)
      if (Date.parse(point.t) < firstMinute) assert.equal(point.events_in, 0, `nothing counted in ${point.t}, before the events were sent`)
      if (point.calls === 0) assert.equal(point.p50_ms, null, `no call, no time in ${point.t}`)
      else assert.ok(point.p50_ms !== null && point.p99_ms !== null && point.p50_ms <= point.p99_ms, `call times of ${point.t}: ${JSON.stringify(point)}`)
    }
    assert.ok(series.total.calls >= 1 && series.total.calls <= REQUESTS * REQUEST.length, `calls: ${series.total.calls}`)
    assert.ok(series.total.p99_ms !== null && series.total.p99_ms > 0, 'the window has a p99')
  })

  it('shows the last hour on the status view, knows the plugin does not export, and has it in the configs health', async () => {
    const status = await admin.ok<{ processing: Summary; methods: string[] | null; exports: boolean | null }>('GET', `/api/configs/${configId}/status`)
    assert.equal(status.processing.events_in, REQUESTS * REQUEST.length)
    assert.equal(status.processing.events_failed, REQUESTS * 2)
    assert.ok(status.methods?.includes('processEvent') && !status.methods.includes('onEvent'), JSON.stringify(status.methods))
    assert.equal(status.exports, false, 'a processEvent-only plugin is not an exporter')

    const health = await admin.ok<{ minutes: number; configs: (Counts & { id: number })[] }>(
      'GET',
      `/api/teams/${admin.fleet.team.id}/configs/health`,
      undefined,
      200,
      admin.teamToken,
    )
    assert.equal(health.minutes, 60)
    const mine = health.configs.find((c) => c.id === configId)
    assert.deepEqual(mine && [mine.events_in, mine.events_returned, mine.events_dropped, mine.events_failed], [
      REQUESTS * 10,
      REQUESTS * 5,
      REQUESTS * 3,
      REQUESTS * 2,
    ])
    // No exporter runs here, so no worker ever loads this one: what its version exports was recorded at install.
    const exporter = await admin.enable('export-on-event', { url: 'http://127.0.0.1:9/unused' })
    const exporterStatus = await admin.ok<{ methods: string[] | null; exports: boolean | null }>('GET', `/api/configs/${exporter}/status`)
    assert.equal(exporterStatus.exports, true, `an onEvent plugin is an exporter: ${JSON.stringify(exporterStatus.methods)}`)
    await admin.assertOtherTeamForbidden([
      ['GET', `/api/configs/${configId}/processing-series`],
      ['GET', `/api/teams/${admin.fleet.team.id}/configs/health`],
    ])
  })

  it("adds up to the workers' own Prometheus counters, labelled by plugin only", async () => {
    const perWorker = await Promise.all(workers.map((w) => prometheusOutcomes(w, 'processing-probe')))
    const sum = (outcome: string) => perWorker.reduce((n, o) => n + (o[outcome] ?? 0), 0)
    assert.deepEqual(
      { returned: sum('returned'), dropped: sum('dropped'), failed: sum('failed') },
      { returned: REQUESTS * 5, dropped: REQUESTS * 3, failed: REQUESTS * 2 },
    )
  })

  it('answers 400 naming minutes when it is out of range', async () => {
    const reply = await admin.call('GET', `/api/configs/${configId}/processing-series?minutes=1441`)
    assert.equal(reply.status, 400)
    assert.equal(reply.json<{ error: { field: string } }>().error.field, 'minutes')
  })
})
