import assert from 'node:assert/strict'
// The soak run is its own project (soak/), built before the tests; src and dist sit at the same depth.
import { metricValue } from '../../../soak/dist/prom-text'
import { judgeTrend, leastSquaresSlope } from '../../../soak/dist/trend'

const connections = { floor: 1, perHour: 0, unit: 'connections' }
const rss = { floor: 24, perHour: 20, unit: 'MB' }
const hourly = (values: number[]) => values.map((v, i) => ({ t: (i * 3600) / (values.length - 1), v }))

describe('soak trend test', () => {
  it('fits the least-squares slope of a straight line exactly, per second', () => {
    assert.equal(leastSquaresSlope([0, 10, 20, 30].map((t) => ({ t, v: 5 + 2 * t }))), 2)
  })

  it('calls a series flat when it only wobbles around a level, however high the wobble starts', () => {
    const trend = judgeTrend(hourly([30, 31, 30, 31, 30, 31, 30]), connections)
    assert.ok(trend.ok, JSON.stringify(trend))
    assert.ok(Math.abs(trend.rise) < 1)
  })

  it('fails connections that grow by two over the window, since connections get no per-hour allowance', () => {
    const trend = judgeTrend(hourly([30, 30, 31, 31, 32, 32]), connections)
    assert.equal(trend.ok, false)
    assert.ok(Math.abs(trend.rise - 2.29) < 0.01, String(trend.rise))
  })

  it('allows RSS the larger of its noise floor and its per-hour rate times the window', () => {
    assert.equal(judgeTrend(hourly([100, 130]), rss).allowed, 24)
    assert.equal(judgeTrend(hourly([100, 130]), rss).ok, false)
    const twoHours = [0, 7200].map((t, i) => ({ t, v: 100 + i * 30 }))
    assert.equal(judgeTrend(twoHours, rss).allowed, 40)
    assert.equal(judgeTrend(twoHours, rss).ok, true)
  })

  it('never fails a falling series, and fits nothing to a single point', () => {
    assert.ok(judgeTrend(hourly([500, 400, 300]), rss).ok)
    assert.deepEqual(judgeTrend([{ t: 0, v: 1 }], connections), { slopePerHour: 0, rise: 0, allowed: 1, ok: true })
  })
})

describe('soak metric reading', () => {
  const text = [
    '# HELP queue_jobs Jobs',
    'queue_jobs{queue="ingest",state="waiting",role="capture"} 3',
    'queue_jobs{queue="ingest",state="active",role="capture"} 2',
    'queue_jobs{queue="jobs",state="waiting",role="capture"} 7',
    'queue_jobs_total 99',
    'process_resident_memory_bytes{role="capture"} 104857600',
  ].join('\n')

  it('sums the samples whose labels match and ignores metrics that only share a prefix', () => {
    assert.equal(metricValue(text, 'queue_jobs', { queue: 'ingest' }), 5)
    assert.equal(metricValue(text, 'queue_jobs'), 12)
    assert.equal(metricValue(text, 'process_resident_memory_bytes'), 104857600)
  })

  it('answers null for a metric the process does not export', () => {
    assert.equal(metricValue(text, 'plugin_vm_live_isolates'), null)
  })
})
