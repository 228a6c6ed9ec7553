import assert from 'node:assert/strict'
import { loadConfig } from '@plugin-server/core'
import { configExportOptions, exportKeys, exportSettings } from '@plugin-server/export'
import { eventually } from '../harness/fleet'
import { writePlugin } from '../harness/plugins'
import { exportSetup, ExportSetup, testEvent } from './export-setup'

describe('exportEvents buffers within the operator’s bounds', function () {
  this.timeout(120_000)

  it('holds a config’s exportEventsBufferBytes to EXPORT_BUFFER_CONFIG_MAX_BYTES and its exportEventsBufferSeconds to 600 s', () => {
    const settings = exportSettings(loadConfig({ EXPORT_BUFFER_CONFIG_MAX_BYTES: '5000000' }))
    const huge = configExportOptions({ exportEventsBufferBytes: '1000000000000', exportEventsBufferSeconds: '1000000000' }, settings)
    assert.deepEqual({ bytes: huge.maxBytes, ms: huge.maxAgeMs }, { bytes: 5_000_000, ms: 600_000 })
    const small = configExportOptions({ exportEventsBufferBytes: 1000, exportEventsBufferSeconds: 5 }, settings)
    assert.deepEqual({ bytes: small.maxBytes, ms: small.maxAgeMs }, { bytes: 1000, ms: 5000 })
  })

  describe('buffered events count against the caps of pending events', () => {
    let s: ExportSetup
    beforeEach(async () => {
      s = await exportSetup()
    })
    afterEach(async () => {
      await s.close()
    })

    const letters = async (configId: number) =>
      (
        await s.db.pool.query<{ events: number; error: string }>(
          'SELECT coalesce(sum(event_count), 0)::int AS events, min(error) AS error FROM export_dead_letters WHERE plugin_config_id = $1',
          [configId],
        )
      ).rows[0]

    it('buffers a config’s events up to EXPORT_MAX_PENDING_EVENTS and keeps the rest as dead letters, as a live delivery past it', async () => {
      const configId = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/big`, exportEventsBufferBytes: '1000000000000' })
      const exporter = await s.startExporter({ EXPORT_MAX_PENDING_EVENTS: '5', EXPORT_FANOUT_CONCURRENCY: '1' })
      for (let i = 0; i < 30; i++)
        await s.handoff(
          s.team.id,
          Array.from({ length: 10 }, () => testEvent(s.team.id, 'big')),
        )
      // The first hand-off goes alone (nothing was held yet), every later one past the cap.
      const spilled = await eventually(
        '290 events kept as dead letters',
        () => letters(configId),
        (l) => l.events >= 290,
      )
      assert.equal(spilled.events, 290)
      assert.match(spilled.error, /already has 10 events waiting for delivery, over EXPORT_MAX_PENDING_EVENTS \(5\)/)
      assert.equal((await exporter.buffer.size(configId)).events, 10)
      await exporter.buffer.flush(configId)
      const batches = await eventually(
        'the buffer delivered',
        async () => s.destination.on('/big'),
        (r) => r.length >= 1,
      )
      assert.deepEqual(
        batches.map((r) => (r.body.events as unknown[]).length),
        [10],
      )
      await eventually(
        'no buffered events counted once flushed',
        () => s.redis.get(exportKeys(s.prefix).fleetBufferedEvents()),
        (n) => n === null,
      )
    })

    it('counts the buffers of a team’s configs together against EXPORT_TEAM_MAX_PENDING_EVENTS', async () => {
      const first = await s.enable(s.team.id, 'export-batch', { url: `${s.url}/first` })
      const exporter = await s.startExporter({ EXPORT_TEAM_MAX_PENDING_EVENTS: '15', EXPORT_FANOUT_CONCURRENCY: '1' })
      await s.handoff(
        s.team.id,
        Array.from({ length: 10 }, () => testEvent(s.team.id)),
      )
      await eventually(
        'the first config buffered',
        () => exporter.buffer.size(first),
        (b) => b.events === 10,
      )
      const other = writePlugin(
        'export-batch-other',
        `export async function exportEvents(events, { config }) {
          await fetch(config.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) })
        }`,
        [{ key: 'url', type: 'string', required: true }],
      )
      const second = await s.enable(s.team.id, other, { url: `${s.url}/second` })
      await eventually(
        'the exporter knows the second config',
        async () => exporter.runtime.manager.knows(second),
        (known) => known,
      )
      await s.handoff(
        s.team.id,
        Array.from({ length: 10 }, () => testEvent(s.team.id)),
      )
      const spilled = await eventually(
        'the second config’s events kept as a dead letter',
        () => letters(second),
        (l) => l.events >= 10,
      )
      assert.match(spilled.error, /team \d+'s plugin configs already have 10 events waiting for delivery together, over EXPORT_TEAM_MAX_PENDING_EVENTS \(15\)/)
      assert.equal((await exporter.buffer.size(second)).events, 0)
      assert.equal((await letters(first)).events, 10, 'the first config’s second hand-off was over the team’s cap as well')
    })
  })
})
