import assert from 'node:assert/strict'
import Redis from 'ioredis'
import type { ActiveConfig } from '@plugin-server/plugin-runtime'
import type { BatchEventResult, BatchText, PluginEvent } from '@plugin-server/plugin-vm'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { monitoredCommands } from '../harness/redis-monitor'

/**
 * The commands on plugins' cache keys that clients send Redis while `during` runs, in order
 * (those a script runs are left out, and so is whatever else the runtime does meanwhile).
 */
function cacheCommands(redis: Redis, during: () => Promise<unknown>): Promise<string[]> {
  return monitoredCommands(redis, (args, source) => source !== 'lua' && args.some((arg) => arg.includes(':cache:')), during)
}

describe("meta.cache over a batch (a crossing's calls against real Redis)", function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let redis: Redis

  beforeEach(async () => {
    fx = await pluginRuntimeFixture()
    redis = new Redis(process.env.REDIS_URL!)
  })
  afterEach(async () => {
    redis.disconnect()
    await fx.close()
  })

  const activeConfig = async (name: string, code: string): Promise<ActiveConfig> => (await fx.startWithPlugin(name, code)).config

  it("counts a batch's cache.incr calls with one Redis command per crossing, each event getting its own count", async () => {
    const config = await activeConfig(
      'counter',
      `export async function processEvent(event, { cache }) {
        event.properties.seen = await cache.incr('seen:' + event.distinct_id)
        return event
      }`,
    )
    const events: PluginEvent[] = Array.from({ length: 100 }, (_, i) => ({ event: 'e', distinct_id: `user-${i % 10}`, properties: { i } }))
    // As the ingest chain calls it: the batch as one JSON text.
    const run = (batch: PluginEvent[]) => config.use((i) => i.processEventBatchText(JSON.stringify(batch), batch.length))
    await run(events.slice(0, 1))
    let answer: BatchText | undefined
    const commands = await cacheCommands(redis, async () => (answer = await run(events.slice(1))))
    assert.ok(answer)
    assert.equal(answer.codes, 'E'.repeat(99), 'every event returned')
    const seen = (JSON.parse(answer.events) as PluginEvent[]).map((e) => e.properties?.seen)
    // Event i is its user's (floor(i / 10) + 1)th, counting the first batch's one event of user-0.
    assert.deepEqual(
      seen,
      events.slice(1).map(({ properties }) => Math.floor(Number(properties?.i) / 10) + 1),
    )
    // 99 events, all in flight at once (up to 100 are): one crossing, one script call; no INCR of its own per event.
    assert.deepEqual(commands, ['eval'])
  })

  it('keeps the order of the calls of one turn around a run of incrs, and fails only the caller whose key is not a count', async () => {
    const config = await activeConfig(
      'mixed',
      `export async function setupPlugin({ cache }) { await cache.set('text', 'not a number') }
      export async function processEvent(event, { cache }) {
        const settled = await Promise.allSettled([
          cache.set('k', 10), cache.incr('k'), cache.incr('k'), cache.get('k', null), cache.incr('text'), cache.incr('k'), cache.incr(''),
        ])
        event.properties.results = settled.map((s) => (s.status === 'fulfilled' ? s.value ?? null : 'error: ' + s.reason.message))
        return event
      }`,
    )
    let result: BatchEventResult | undefined
    const commands = await cacheCommands(redis, async () => {
      ;[result] = await config.use((i) => i.processEventBatch([{ event: 'e', distinct_id: 'd', properties: {} }]))
    })
    // The two runs of incrs went as one script call each, in their places among the set and the get.
    assert.deepEqual(commands, ['set', 'eval', 'get', 'eval'])
    assert.ok(result)
    assert.ok(result.ok, 'the event went through')
    assert.deepEqual(result.event?.properties?.results, [
      null,
      11,
      12,
      12,
      'error: ERR value is not an integer or out of range',
      13,
      'error: cache key must be a non-empty string',
    ])
  })
})
