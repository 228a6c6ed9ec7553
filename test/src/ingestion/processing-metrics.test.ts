import assert from 'node:assert/strict'
import Redis from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { ProcessingMetrics, ProcessingTally } from '@plugin-server/ingestion'
import { readProcessingSeries } from '@plugin-server/plugin-runtime'
import { waitFor } from '@plugin-server/dev-services'
import { testQueuePrefix } from '../harness/databases'
import { monitoredCommands } from '../harness/redis-monitor'

/** One batch's tally: `events` events into each config, all returned, one call of 3 ms. */
function batch(configIds: number[], events: number): ProcessingTally {
  const tally = new ProcessingTally()
  for (const configId of configIds) {
    const target = { configId, pluginName: `plugin ${configId}` }
    tally.called(target, events, 3)
    tally.returned(target, events)
  }
  return tally
}

/** The commands clients send on the series keys of `prefix` while `during` runs. */
function seriesCommands(redis: Redis, prefix: string, during: () => Promise<unknown>): Promise<string[]> {
  return monitoredCommands(redis, (args) => args.some((arg) => arg.startsWith(`${prefix}:processing-series:`)), during)
}

describe('ProcessingMetrics (per-config processEvent metrics of one worker)', () => {
  let redis: Redis
  // The global fixture sets REDIS_URL before the first test, not when this file loads.
  before(() => (redis = new Redis(process.env.REDIS_URL!)))
  after(() => redis.disconnect())

  it('adds up many batches of a second into one write per config and minute, each batch counted in its own minute', async () => {
    const prefix = testQueuePrefix()
    let now = Date.UTC(2026, 11, 3, 10, 30, 58)
    const metrics = new ProcessingMetrics(new Registry(), redis, prefix, pino({ level: 'silent' }), () => now)
    const commands = await seriesCommands(redis, prefix, async () => {
      for (let i = 0; i < 50; i++) metrics.record(batch([1, 2], 10))
      now += 2000
      for (let i = 0; i < 5; i++) metrics.record(batch([1], 4))
      await metrics.flush()
    })
    // events_in, events_returned, calls, time_ms, one histogram bucket, and the TTL: per config and minute.
    assert.deepEqual(
      commands.filter((c) => c === 'expire'),
      ['expire', 'expire', 'expire'],
      `one write per config and minute, not per batch: ${commands.length} commands`,
    )
    assert.equal(commands.length, 3 * 6)
    const first = await readProcessingSeries(redis, prefix, 1, 2, now)
    assert.deepEqual(
      first.points.map((p) => [p.t, p.events_in, p.events_returned, p.calls, p.time_ms]),
      [
        ['2026-12-03T10:30:00.000Z', 500, 500, 50, 150],
        ['2026-12-03T10:31:00.000Z', 20, 20, 5, 15],
      ],
    )
    const second = await readProcessingSeries(redis, prefix, 2, 2, now)
    assert.deepEqual(
      second.points.map((p) => [p.events_in, p.calls]),
      [
        [500, 50],
        [0, 0],
      ],
    )
  })

  it('writes what it added up within a second without being asked', async () => {
    const prefix = testQueuePrefix()
    const metrics = new ProcessingMetrics(new Registry(), redis, prefix, pino({ level: 'silent' }))
    metrics.record(batch([3], 7))
    // Two minutes: a batch recorded in a minute's last second is written into that minute, read in the next.
    await waitFor('the batch written', async () => (await readProcessingSeries(redis, prefix, 3, 2)).total.events_in === 7, 10_000)
  })

  it("counts in this worker's Prometheus series at once, per plugin and outcome", async () => {
    const registry = new Registry()
    const metrics = new ProcessingMetrics(registry, redis, testQueuePrefix(), pino({ level: 'silent' }))
    metrics.record(batch([4], 6))
    const returned = (await registry.getSingleMetric('plugin_process_event_events_total')!.get()).values.find(
      (v) => v.labels.plugin === 'plugin 4' && v.labels.outcome === 'returned',
    )
    assert.equal(returned?.value, 6)
    await metrics.flush()
  })

  it('counts writes Redis refused and warns at once, then at most once a minute with how many failed since, never failing a batch', async () => {
    // A client that cannot reach Redis and queues nothing: every pipeline fails at once.
    const unreachable = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null })
    const lines: { msg: string; err?: string; failed_writes?: number }[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
    let now = Date.UTC(2026, 11, 6, 12, 0, 0)
    const registry = new Registry()
    const metrics = new ProcessingMetrics(registry, unreachable, testQueuePrefix(), logger, () => now)
    const failures = async () => (await registry.getSingleMetric('plugin_process_event_metrics_write_failures_total')!.get()).values[0]?.value
    for (let second = 0; second < 3; second++) {
      metrics.record(batch([5], 2))
      await metrics.flush()
      now += 1000
    }
    assert.equal(await failures(), 3)
    assert.equal(lines.length, 1, 'the first failure warns at once, the next two within the minute are counted')
    assert.match(lines[0].msg, /processing metrics not written to Redis/)
    assert.equal(lines[0].failed_writes, 1)
    assert.match(String(lines[0].err), /writeable|enableOfflineQueue|closed/i)
    now += 60_000
    metrics.record(batch([5], 2))
    await metrics.flush()
    assert.equal(lines.length, 2)
    assert.equal(lines[1].failed_writes, 3, 'the two counted and this one')
    unreachable.disconnect()
  })
})
