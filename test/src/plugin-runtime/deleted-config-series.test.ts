import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { Registry } from 'prom-client'
import { deleteConfig, setConfigEnabled } from '@plugin-server/management'
import { ExportMetrics } from '@plugin-server/export'
import { createPluginChainMetrics, forgetPluginChainSeries, observeCall } from '@plugin-server/ingestion'
import { testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { pluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { enablePlugin, writePlugin } from '../harness/plugins'

function seriesOf(text: string, configId: number): string[] {
  return text.split('\n').filter((l) => !l.startsWith('#') && l.includes(`plugin_config_id="${configId}"`))
}

describe("a deleted plugin config's per-config series", function () {
  this.timeout(60_000)

  it('the plugin manager announces a config once it is deleted, not when it is disabled', async () => {
    const fx = await pluginRuntimeFixture({ PLUGIN_RECONCILE_INTERVAL_MS: '100000' })
    try {
      const code = `export function processEvent(e) { return e }`
      const kept = await enablePlugin(fx.management, fx.team.id, writePlugin('series-kept', code))
      const gone = await enablePlugin(fx.management, fx.team.id, writePlugin('series-gone', code))
      const runtime = await fx.start()
      const deleted: number[] = []
      runtime.manager.onConfigDeleted((id) => deleted.push(id))
      await setConfigEnabled(fx.management, kept.id, false)
      await deleteConfig(fx.management, gone.id)
      await eventually(
        'the deleted config announced',
        async () => (await runtime.manager.refresh(), deleted),
        (ids) => ids.includes(gone.id),
        10_000,
      )
      assert.deepEqual(deleted, [gone.id], 'the disabled config is not announced')
      // Deleted after it was disabled: announced too, though it had already left this process.
      await deleteConfig(fx.management, kept.id)
      await eventually(
        'the disabled config announced once deleted',
        async () => (await runtime.manager.refresh(), deleted),
        (ids) => ids.includes(kept.id),
        10_000,
      )
      assert.deepEqual(deleted, [gone.id, kept.id])
    } finally {
      await fx.close()
    }
  })

  it("the ingest worker's plugin_config_calls_total, plugin_config_call_seconds_total, plugin_errors_total and plugin_events_dropped_total drop the config's series and keep the others", async () => {
    const registry = new Registry()
    const metrics = createPluginChainMetrics(registry)
    for (const id of [1, 2]) {
      observeCall(metrics, { id, pluginName: 'p' }, 'processEvent', 0.1)
      metrics.errors.inc({ plugin_config_id: String(id), method: 'processEvent' })
      metrics.dropped.inc({ plugin_config_id: String(id) })
    }
    await forgetPluginChainSeries(metrics, 1)
    const text = await registry.metrics()
    assert.deepEqual(seriesOf(text, 1), [])
    for (const name of ['plugin_config_calls_total', 'plugin_config_call_seconds_total', 'plugin_errors_total', 'plugin_events_dropped_total'])
      assert.ok(
        seriesOf(text, 2).some((l) => l.startsWith(name)),
        name,
      )
  })

  it('the ingest worker keeps call-time buckets per plugin, not per config: 1 600 configs of 2 plugins are 2 histograms and 2 counters a config', async () => {
    const registry = new Registry()
    const metrics = createPluginChainMetrics(registry)
    for (let id = 1; id <= 1600; id++) observeCall(metrics, { id, pluginName: id % 2 ? 'odd' : 'even' }, 'processEvent', 0.01)
    const lines = (await registry.metrics()).split('\n').filter((l) => l !== '' && !l.startsWith('#'))
    // Two plugins × (9 buckets, +Inf, sum, count), then a count and a time per config.
    assert.equal(lines.filter((l) => l.startsWith('plugin_call_seconds')).length, 2 * 12)
    assert.ok(!lines.some((l) => l.startsWith('plugin_call_seconds') && l.includes('plugin_config_id')))
    assert.equal(lines.length, 2 * 12 + 1600 * 2)
  })

  it('the plugin manager says when a config leaves this process, disabled or deleted, for the series of what it runs', async () => {
    const fx = await pluginRuntimeFixture({ PLUGIN_RECONCILE_INTERVAL_MS: '100000' })
    try {
      const code = `export function processEvent(e) { return e }`
      const disabled = await enablePlugin(fx.management, fx.team.id, writePlugin('left-disabled', code))
      const kept = await enablePlugin(fx.management, fx.team.id, writePlugin('left-kept', code))
      const runtime = await fx.start()
      const left: number[] = []
      runtime.manager.onConfigLeft((id) => left.push(id))
      await setConfigEnabled(fx.management, disabled.id, false)
      await eventually(
        'the disabled config announced',
        async () => (await runtime.manager.refresh(), left),
        (ids) => ids.length > 0,
        10_000,
      )
      assert.deepEqual(left, [disabled.id])
      assert.ok(runtime.manager.knows(kept.id))
    } finally {
      await fx.close()
    }
  })

  it("the exporter's plugin_export_*_total drop the config's series, whatever its method, and keep the others", async () => {
    const redis = new Redis(process.env.REDIS_URL!)
    try {
      const registry = new Registry()
      const metrics = new ExportMetrics(registry, redis, testQueuePrefix())
      await metrics.add({ teamId: 1, pluginName: 'a', configId: 1 }, 'exportEvents', { events_seen: 2, retry_errors: 1 })
      await metrics.add({ teamId: 1, pluginName: 'a', configId: 1 }, 'onEvent', { events_seen: 2 })
      await metrics.add({ teamId: 1, pluginName: 'b', configId: 2 }, 'exportEvents', { events_seen: 3 })
      await metrics.forget(1)
      const text = await registry.metrics()
      assert.deepEqual(seriesOf(text, 1), [])
      assert.ok(seriesOf(text, 2).some((l) => l.startsWith('plugin_export_events_seen_total')))
    } finally {
      redis.disconnect()
    }
  })
})
