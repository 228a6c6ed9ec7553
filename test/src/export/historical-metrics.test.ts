import assert from 'node:assert/strict'
import { readExportSeries } from '@plugin-server/export'
import { readMetrics } from '@plugin-server/plugin-runtime'
import Redis from 'ioredis'
import { HistoricalFleet, historicalFleet, RANGE } from './historical-fleet'

const EVENTS = 20

describe('a historical export is counted apart from live delivery', function () {
  this.timeout(120_000)
  let h: HistoricalFleet
  let redis: Redis

  before(async () => {
    h = await historicalFleet(EVENTS)
    redis = new Redis(process.env.REDIS_URL!)
  })
  after(async () => {
    redis?.disconnect()
    await h?.close()
  })

  it("counts its events in its own progress and the exporter's Prometheus counters, not in the live totals or series", async () => {
    const exporter = await h.fleet.start('exporter')
    const started = await h.cli(['export', 'historical', String(h.configId), '--from', RANGE.from, '--to', RANGE.to, '--detach'])
    assert.equal(started.code, 0, started.stderr)
    const done = await h.finished((JSON.parse(started.stdout) as { id: number }).id)
    assert.deepEqual({ status: done.status, exported: done.exported, failed: done.failed }, { status: 'done', exported: EVENTS, failed: 0 })

    const totals = await readMetrics(redis, h.fleet.env.QUEUE_PREFIX, h.configId)
    assert.equal(totals.events_seen ?? 0, 0, `live totals: ${JSON.stringify(totals)}`)
    assert.equal(totals.events_delivered_successfully ?? 0, 0)
    const series = await readExportSeries(redis, h.fleet.env.QUEUE_PREFIX, h.configId, 10)
    assert.equal(
      series.points.reduce((n, p) => n + p.events_seen + p.events_delivered_successfully, 0),
      0,
      'the live series has none of the run',
    )

    const port = exporter.lines.find((l) => l.msg === 'exporter started')?.healthPort
    const text = await (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).text()
    const delivered = text
      .split('\n')
      .filter((l) => l.startsWith('plugin_export_events_delivered_successfully_total{') && l.includes(`plugin_config_id="${h.configId}"`))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
    assert.equal(delivered, EVENTS, 'Prometheus still counts what the exporter delivered')
  })
})
