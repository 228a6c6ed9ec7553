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
    assert.deepEqual(commands, ['evalsha'])
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
    // The two runs of incrs went as one script call each, in their places among the set (a script of
    // its own, as every write: the team's cache account) and the get (a script too: read-many-script.ts).
    assert.deepEqual(commands, ['evalsha', 'evalsha', 'evalsha', 'evalsha'])
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

  it("reads a batch's cache.get calls with one script call per crossing, each answered with its own value, default and decoding", async () => {
    const config = await activeConfig(
      'reader',
      `export async function setupPlugin({ cache }) {
        await cache.set('plan:user-0', { tier: 'pro' })
        await cache.set('plan:user-1', 'free')
        await cache.set('plan:user-2', 'raw text', undefined, { jsonSerialize: false })
      }
      export async function processEvent(event, { cache }) {
        const raw = event.properties.i === 2
        event.properties.plan = await cache.get('plan:' + event.distinct_id, 'none', raw ? { jsonSerialize: false } : undefined)
        return event
      }`,
    )
    const events: PluginEvent[] = Array.from({ length: 60 }, (_, i) => ({ event: 'e', distinct_id: `user-${i % 4}`, properties: { i } }))
    let answer: BatchText | undefined
    const commands = await cacheCommands(redis, async () => (answer = await config.use((i) => i.processEventBatchText(JSON.stringify(events), events.length))))
    assert.ok(answer)
    assert.equal(answer.codes, 'E'.repeat(60))
    const expected = (i: number) => (i === 2 ? 'raw text' : [{ tier: 'pro' }, 'free', 'raw text', 'none'][i % 4])
    assert.deepEqual(
      (JSON.parse(answer.events) as PluginEvent[]).map((e) => e.properties?.plan),
      events.map((_, i) => expected(i)),
    )
    // 60 events in flight at once: one crossing, one script call (its four keys' sizes, then one MGET); no GET of its own per event.
    assert.deepEqual(commands, ['evalsha'])
  })

  it('fails only the gets whose keys are refused in a run of gets; the others are answered', async () => {
    const config = await activeConfig(
      'reader-errors',
      `export async function processEvent(event, { cache }) {
        const settled = await Promise.allSettled([cache.get('a', 1), cache.get('', 2), cache.get('x'.repeat(2000), 3), cache.get('b', 4)])
        event.properties.results = settled.map((s) => (s.status === 'fulfilled' ? s.value : 'error: ' + s.reason.message))
        return event
      }`,
    )
    const [result] = await config.use((i) => i.processEventBatch([{ event: 'e', distinct_id: 'd', properties: {} }]))
    assert.ok(result.ok)
    const results = result.event?.properties?.results as unknown[]
    assert.equal(results[0], 1)
    assert.equal(results[1], 'error: cache key must be a non-empty string')
    assert.match(String(results[2]), /^error: .*key.*(1024|bytes|long)/i)
    assert.equal(results[3], 4)
  })

  it("writes a batch's cache.set calls with one script call per crossing, each with its own value and time to live, refusing only an oversized one", async () => {
    const config = await activeConfig(
      'writer',
      `export async function processEvent(event, { cache }) {
        const i = event.properties.i
        const value = i === 3 ? 'x'.repeat(2 * 1024 * 1024) : { seen: i }
        const options = i === 1 ? { jsonSerialize: false } : undefined
        try {
          await cache.set('last:' + i, i === 1 ? 'raw ' + i : value, i === 2 ? 60 : i === 4 ? '30' : undefined, options)
          event.properties.stored = true
        } catch (error) {
          event.properties.stored = error.message
        }
        return event
      }`,
    )
    const events: PluginEvent[] = Array.from({ length: 6 }, (_, i) => ({ event: 'e', distinct_id: 'd', properties: { i } }))
    let answer: BatchText | undefined
    const commands = await cacheCommands(redis, async () => (answer = await config.use((i) => i.processEventBatchText(JSON.stringify(events), events.length))))
    assert.ok(answer)
    const stored = (JSON.parse(answer.events) as PluginEvent[]).map((e) => e.properties?.stored)
    assert.deepEqual([stored[0], stored[1], stored[2], stored[4], stored[5]], [true, true, true, true, true])
    assert.match(String(stored[3]), /value|bytes|large|limit/i, 'the 2 MiB value is refused by the value bound')
    assert.deepEqual(commands, ['evalsha'], 'one script call for the run')
    const { plugin_id: pluginId } = (await fx.db.pool.query<{ plugin_id: number }>('SELECT plugin_id FROM plugin_configs WHERE id = $1', [config.record.id]))
      .rows[0]
    const key = (i: number) => `${fx.prefix}:cache:${pluginId}:${fx.team.id}:last:${i}`
    assert.equal(await redis.get(key(0)), JSON.stringify({ seen: 0 }))
    assert.equal(await redis.get(key(1)), 'raw 1')
    assert.equal(await redis.exists(key(3)), 0)
    assert.equal(await redis.ttl(key(0)), -1, 'no time to live unless asked')
    const ttl = await redis.ttl(key(2))
    assert.ok(ttl > 55 && ttl <= 60, `60 s to live: ${ttl}`)
    const textTtl = await redis.ttl(key(4))
    assert.ok(textTtl > 25 && textTtl <= 30, `'30' s to live, given as text: ${textTtl}`)
  })
})
