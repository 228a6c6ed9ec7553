import assert from 'node:assert/strict'
import type { HistoricalRunProgress } from '@plugin-server/export'
import { setConfigEnabled } from '@plugin-server/management'
import { eventually } from '../harness/fleet'
import { managementContext } from '../harness/plugins'
import { historicalFleet, HistoricalFleet, RANGE } from './historical-fleet'

// Pages handed over once the config is off can only become dead letters ("not enabled"): the run stops instead.
describe('a historical export run whose config is disabled while it runs', function () {
  this.timeout(180_000)
  let h: HistoricalFleet
  after(async () => {
    await h?.close()
  })

  it('is cancelled with the reason "config disabled" and hands over no page after that', async () => {
    h = await historicalFleet(1000)
    await h.fleet.start('exporter')
    h.destination.responder = ({ index }) => (index < 2 ? 200 : 'hold')
    const started = await h.cli([
      'export',
      'historical',
      String(h.configId),
      '--from',
      RANGE.from,
      '--to',
      RANGE.to,
      '--detach',
      '--batch-size',
      '50',
      '--max-in-flight',
      '2',
    ])
    assert.equal(started.code, 0, started.stderr)
    const run = JSON.parse(started.stdout) as HistoricalRunProgress
    await eventually(
      'a batch held',
      async () => h.destination.heldCount(),
      (n) => n >= 1,
    )
    const management = managementContext(h.fleet.db.pool, h.fleet.env.QUEUE_PREFIX)
    await setConfigEnabled(management, h.configId, false)
    await management.close()
    const cancelled = await eventually(
      'the run cancelled',
      () => h.progress(run.id),
      (p) => p.status === 'cancelled',
    )
    assert.equal(cancelled.lastError?.message, 'config disabled')
    h.destination.release(200)
    const end = await h.finished(run.id)
    assert.equal(end.status, 'cancelled')
    const letters = await h.fleet.db.pool.query<{ events: number }>(
      'SELECT coalesce(sum(event_count), 0)::int AS events FROM export_dead_letters WHERE plugin_config_id = $1',
      [h.configId],
    )
    // At most the pages in flight when it was disabled (two held, two more handed over as the first two were done).
    assert.ok(letters.rows[0].events <= 4 * 50, `${letters.rows[0].events} events became dead letters`)
  })
})
