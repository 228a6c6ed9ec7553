import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { Registry } from 'prom-client'
import { addMetricSums, registerPluginMetricsCollector, updateMetric } from '@plugin-server/plugin-runtime'
import { testQueuePrefix } from '../harness/databases'
import { assertOneReadWhileUnanswered, silentRedis } from '../harness/silent-redis'

/** Calls of one Redis command so far, from INFO commandstats (0 when never called). */
async function commandCalls(redis: Redis, command: string): Promise<number> {
  const stats = await redis.info('commandstats')
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)
  return match ? Number(match[1]) : 0
}

function metricValue(text: string, configId: number, metric: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith('plugin_metric{') && l.includes(`plugin_config_id="${configId}"`) && l.includes(`metric="${metric}"`))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

describe('plugin_metric collector (read at every /metrics scrape)', () => {
  let redis: Redis
  before(() => (redis = new Redis(process.env.REDIS_URL!)))
  after(() => redis.disconnect())

  it('reports every config with metrics, including hashes written before the index, and never SCANs at a scrape', async () => {
    const prefix = testQueuePrefix()
    for (let id = 1; id <= 20; id++) await updateMetric(redis, prefix, id, 'seen', 'sum', id)
    const pipeline = redis.pipeline()
    addMetricSums(pipeline, prefix, 21, { delivered: 5 })
    await pipeline.exec()
    // A hash as a version without the index wrote it, and keys the scrape has no business reading.
    await redis.hset(`${prefix}:plugin-metrics:22`, 'old', '7')
    for (let i = 0; i < 500; i++) await redis.set(`${prefix}:unrelated:${i}`, 'x')

    const registry = new Registry()
    registerPluginMetricsCollector(registry, redis, prefix, async (ids) => ids)
    const first = await registry.metrics()
    assert.equal(metricValue(first, 1, 'seen'), 1)
    assert.equal(metricValue(first, 20, 'seen'), 20)
    assert.equal(metricValue(first, 21, 'delivered'), 5)
    assert.equal(metricValue(first, 22, 'old'), 7)

    const scansBefore = await commandCalls(redis, 'scan')
    const indexReadsBefore = await commandCalls(redis, 'smembers')
    await updateMetric(redis, prefix, 3, 'seen', 'sum', 10)
    // Past the one-second reuse window, so these scrapes read Redis again.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const [later] = await Promise.all([registry.metrics(), registry.metrics(), registry.metrics()])
    assert.equal(metricValue(later, 3, 'seen'), 13)
    assert.equal(await commandCalls(redis, 'scan'), scansBefore, 'no SCAN at a scrape')
    assert.equal((await commandCalls(redis, 'smembers')) - indexReadsBefore, 1, 'three concurrent scrapes share one read of the index')
  })

  it('neither reports nor keeps the metrics of a config that no longer exists', async () => {
    const prefix = testQueuePrefix()
    for (const id of [1, 2]) await updateMetric(redis, prefix, id, 'seen', 'sum', id)
    const registry = new Registry()
    // Config 2 was deleted after a worker's last write for it.
    registerPluginMetricsCollector(registry, redis, prefix, async (ids) => ids.filter((id) => id !== 2))
    const text = await registry.metrics()
    assert.equal(metricValue(text, 1, 'seen'), 1)
    assert.equal(metricValue(text, 2, 'seen'), undefined)
    assert.deepEqual(await redis.smembers(`${prefix}:plugin-metrics-configs`), ['1'])
    assert.equal(await redis.exists(`${prefix}:plugin-metrics:2`), 0)
  })

  it('reports every indexed config and drops nothing when Postgres cannot say which exist', async () => {
    const prefix = testQueuePrefix()
    for (const id of [1, 2]) await updateMetric(redis, prefix, id, 'seen', 'sum', id)
    const registry = new Registry()
    registerPluginMetricsCollector(registry, redis, prefix, async () => {
      throw new Error('connect ECONNREFUSED (Postgres away)')
    })
    const text = await registry.metrics()
    assert.equal(metricValue(text, 1, 'seen'), 1)
    assert.equal(metricValue(text, 2, 'seen'), 2)
    assert.deepEqual((await redis.smembers(`${prefix}:plugin-metrics-configs`)).sort(), ['1', '2'])
  })

  it('answers a scrape without plugin metrics when Redis does not, instead of holding /metrics', async () => {
    const offline = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null, retryStrategy: () => 1000 })
    offline.on('error', () => undefined)
    try {
      const registry = new Registry()
      registerPluginMetricsCollector(registry, offline, testQueuePrefix(), async (ids) => ids)
      const started = Date.now()
      const text = await registry.metrics()
      assert.ok(Date.now() - started < 10_000, `the scrape took ${Date.now() - started} ms`)
      assert.ok(!text.includes('plugin_metric{'))
      assert.match(await registry.getSingleMetricAsString('plugin_metric_read_errors_total'), /plugin_metric_read_errors_total 1/)
    } finally {
      offline.disconnect()
    }
  })

  it('sends a Redis that does not answer one read, however many scrapes come while it is unanswered', async () => {
    // Its SCANs are answered (no keys): the index is built, then the reads go unanswered, as when Redis stalls later.
    const silent = await silentRedis((commands) => (/^\*\d+\r\n\$4\r\nscan\r\n/i.test(commands) ? '*2\r\n$1\r\n0\r\n*0\r\n' : null))
    try {
      const registry = new Registry()
      registerPluginMetricsCollector(registry, silent.client, testQueuePrefix(), async (ids) => ids)
      await assertOneReadWhileUnanswered(silent, registry)
      assert.match(await registry.getSingleMetricAsString('plugin_metric_read_errors_total'), /plugin_metric_read_errors_total 3/)
    } finally {
      silent.close()
    }
  })
})
