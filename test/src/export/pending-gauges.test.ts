import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { Registry } from 'prom-client'
import { exportKeys, registerPendingGauges } from '@plugin-server/export'
import type { PluginConfigRecord } from '@plugin-server/plugin-runtime'
import { testQueuePrefix } from '../harness/databases'

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
})
