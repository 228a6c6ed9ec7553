import assert from 'node:assert/strict'
import { breachesKey, PluginRuntime } from '@plugin-server/plugin-runtime'
import { PluginLimitError } from '@plugin-server/plugin-vm'
import { eventually } from '../harness/fleet'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { enablePlugin, writePlugin } from '../harness/plugins'

describe('PluginManager circuit breaker (a config that keeps breaching its limits is disabled)', function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let runtime: PluginRuntime

  beforeEach(async () => {
    fx = await pluginRuntimeFixture({ PLUGIN_TIMEOUT_MS: '200', PLUGIN_RECONCILE_INTERVAL_MS: '100000' })
  })
  afterEach(async () => fx.close())

  it('disables a looping plugin after 3 time limit breaches, fleet-wide and with the reason, while the rest of the chain runs on', async () => {
    const looping = await enablePlugin(fx.management, fx.team.id, writePlugin('looping', `export function processEvent(e) { for (;;) {} }`), {}, { order: 1 })
    const good = await enablePlugin(
      fx.management,
      fx.team.id,
      writePlugin('good', `export function processEvent(e) { e.properties = { ...e.properties, good: true }; return e }`),
      {},
      { order: 2 },
    )
    runtime = await fx.start()
    const breaches: string[] = []
    for (let i = 0; i < 3; i++) {
      const configs = await runtime.manager.teamConfigs(fx.team.id)
      assert.deepEqual(
        configs.map((c) => c.record.id),
        [looping.id, good.id],
        `before breach ${i + 1} both configs run`,
      )
      const error = await configs[0]
        .use((instance) => instance.processEventBatch([{ event: 'e' }]))
        .then(
          () => null,
          (err: Error) => err,
        )
      assert.ok(error instanceof PluginLimitError, String(error))
      breaches.push(error.limit)
    }
    assert.deepEqual(breaches, ['time', 'time', 'time'])

    const reason = `plugin disabled by the server: exceeded its time limit 3 times in 10 minutes (last: plugin looping (config ${looping.id}) exceeded its time limit (200 ms))`
    const row = await eventually(
      'config disabled in Postgres',
      async () => (await fx.db.pool.query('SELECT enabled, disabled_reason, error FROM plugin_configs WHERE id = $1', [looping.id])).rows[0],
      (r) => r.enabled === false,
      10_000,
    )
    assert.equal(row.disabled_reason, reason)
    assert.equal(row.error.name, 'PluginLimitError')
    assert.equal(row.error.message, reason)

    const configs = await runtime.manager.teamConfigs(fx.team.id)
    assert.deepEqual(
      configs.map((c) => c.record.id),
      [good.id],
      'the disabled config no longer runs; the other one does',
    )
    const [result] = await configs[0].use((instance) => instance.processEventBatch([{ event: 'e', properties: {} }]))
    assert.deepEqual(result, { ok: true, event: { event: 'e', properties: { good: true } } })

    await runtime.services.logs.flush()
    const { rows } = await fx.db.pool.query<{ source: string; type: string; message: string }>(
      `SELECT source, type, message FROM plugin_log_entries WHERE plugin_config_id = $1 AND source = 'SYSTEM' AND type = 'ERROR'`,
      [looping.id],
    )
    assert.deepEqual(
      rows.map((r) => r.message),
      [reason],
    )
    const counter = await fx.ctx.registry.getSingleMetric('plugin_breaker_disabled_total')?.get()
    assert.deepEqual(
      counter?.values.filter((v) => v.value > 0).map((v) => [v.labels.reason, v.value]),
      [['time', 1]],
    )
    // The count starts again, so re-enabling the config gives it a clean slate.
    assert.equal(await fx.ctx.newRedisConnection('check').exists(breachesKey(fx.prefix, looping.id)), 0)
  })

  it('counts breaches fleet-wide in Redis, expiring them a window after the first', async () => {
    const looping = await enablePlugin(fx.management, fx.team.id, writePlugin('looping', `export function processEvent(e) { for (;;) {} }`))
    runtime = await fx.start()
    const [config] = await runtime.manager.teamConfigs(fx.team.id)
    await config.use((instance) => instance.processEventBatch([{ event: 'e' }])).catch(() => undefined)
    const redis = fx.ctx.newRedisConnection('check')
    const key = breachesKey(fx.prefix, looping.id)
    await eventually(
      'breach counted',
      () => redis.get(key),
      (v) => v === '1',
      5_000,
    )
    const ttl = await redis.pttl(key)
    assert.ok(ttl > 590_000 && ttl <= 600_000, `ttl ${ttl}`)
    // Another worker's breaches land in the same count: two more from anywhere trip the breaker.
    await redis.incr(key)
    const [again] = await runtime.manager.teamConfigs(fx.team.id)
    await again.use((instance) => instance.processEventBatch([{ event: 'e' }])).catch(() => undefined)
    await eventually(
      'config disabled',
      async () => (await fx.db.pool.query('SELECT enabled FROM plugin_configs WHERE id = $1', [looping.id])).rows[0].enabled,
      (enabled) => enabled === false,
      10_000,
    )
  })
})
