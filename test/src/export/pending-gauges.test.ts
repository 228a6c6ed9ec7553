import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { Registry } from 'prom-client'
import { exportingConfigs, exportKeys, registerPendingGauges } from '@plugin-server/export'
import type { PluginConfigRecord } from '@plugin-server/plugin-runtime'
import type { PluginMethodName } from '@plugin-server/plugin-vm'
import { testQueuePrefix } from '../harness/databases'
import { monitoredCommands } from '../harness/redis-monitor'

// Only what the gauges read of a config.
const record = { id: 5, teamId: 2, pluginName: 'exporter' } as PluginConfigRecord

describe('pending export gauges (read at every exporter /metrics scrape)', () => {
  it('report a config’s pending batches and their events, its team’s events and all teams’ (buffered ones included), from Redis', async () => {
    const redis = new Redis(process.env.REDIS_URL!)
    try {
      const prefix = testQueuePrefix()
      await redis.zadd(exportKeys(prefix).pending(5), Date.now() - 3000, 'job-1', Date.now(), 'job-2')
      await redis.set(exportKeys(prefix).pendingEventsTotal(5), 140)
      await redis.set(exportKeys(prefix).teamPendingEventsTotal(2), 190)
      await redis.set(exportKeys(prefix).fleetPendingEventsTotal(), 870)
      // Events buffered for exportEvents count against the team's and the fleet's limits as well.
      await redis.set(exportKeys(prefix).teamBufferedEvents(2), 10)
      await redis.set(exportKeys(prefix).fleetBufferedEvents(), 30)
      const registry = new Registry()
      registerPendingGauges(registry, redis, prefix, () => [record])
      const text = await registry.metrics()
      assert.match(text, /plugin_export_pending_batches\{team_id="2",plugin="exporter",plugin_config_id="5"\} 2/)
      assert.match(text, /plugin_export_pending_events\{team_id="2",plugin="exporter",plugin_config_id="5"\} 140/)
      assert.match(text, /plugin_export_team_pending_events\{team_id="2"\} 200/)
      assert.match(text, /plugin_export_fleet_pending_events 900/)
    } finally {
      redis.disconnect()
    }
  })

  it('answer a scrape without them when Redis does not, instead of holding /metrics until it returns', async () => {
    // As the exporter's own connection: no command is ever given up (BullMQ's setting).
    const offline = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: () => 1000 })
    offline.on('error', () => undefined)
    try {
      const registry = new Registry()
      registerPendingGauges(registry, offline, testQueuePrefix(), () => [record])
      const started = Date.now()
      const text = await registry.metrics()
      assert.ok(Date.now() - started < 10_000, `the scrape took ${Date.now() - started} ms`)
      assert.ok(!text.includes('plugin_export_pending_batches{'))
      assert.match(await registry.getSingleMetricAsString('plugin_export_pending_read_errors_total'), /_total 1/)
    } finally {
      offline.disconnect()
    }
  })

  it('are read from the configs that export only: a config whose plugin only processes events is not read at all', () => {
    const configs = [
      { id: 1, teamId: 1, pluginName: 'geoip' },
      { id: 2, teamId: 1, pluginName: 's3' },
      { id: 3, teamId: 2, pluginName: 'not-loaded-yet' },
    ] as PluginConfigRecord[]
    const methods = new Map<number, PluginMethodName[]>([
      [1, ['processEvent']],
      [2, ['setupPlugin', 'exportEvents']],
    ])
    const manager = {
      enabledConfigs: () => configs,
      exportsAnyOf: (id: number, wanted: readonly PluginMethodName[]) => methods.get(id)?.some((m) => wanted.includes(m)),
    }
    // A config whose exports are not known yet may have work: it is read until they are.
    assert.deepEqual(
      exportingConfigs(manager).map((r) => r.id),
      [2, 3],
    )
  })

  it('are read in pipelines, never one MULTI that holds Redis for every config at once', async () => {
    const redis = new Redis(process.env.REDIS_URL!)
    try {
      const prefix = testQueuePrefix()
      const many = Array.from({ length: 1200 }, (_, i) => ({ id: i + 1, teamId: (i % 300) + 1, pluginName: 'exporter' }) as PluginConfigRecord)
      const registry = new Registry()
      registerPendingGauges(registry, redis, prefix, () => many)
      const commands = await monitoredCommands(
        redis,
        (args) => args.some((a) => a.startsWith(prefix)) || ['multi', 'exec'].includes(args[0].toLowerCase()),
        () => registry.metrics(),
      )
      assert.ok(!commands.includes('multi') && !commands.includes('exec'), 'no transaction')
      // Five reads per config, two per team, two for all teams.
      assert.equal(commands.length, 1200 * 5 + 300 * 2 + 2)
    } finally {
      redis.disconnect()
    }
  })
})
