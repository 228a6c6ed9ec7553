import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { RedisPluginCache } from '@plugin-server/plugin-runtime'
import { testQueuePrefix } from '../harness/databases'

describe('RedisPluginCache (meta.cache)', () => {
  let redis: Redis
  let prefix: string
  before(() => (redis = new Redis(process.env.REDIS_URL!)))
  after(() => redis.quit())
  beforeEach(() => (prefix = testQueuePrefix()))

  it('set/get round-trips JSON values and returns the default when missing', async () => {
    const cache = new RedisPluginCache(redis, prefix, 1, 1)
    assert.equal(await cache.get('missing', 'fallback'), 'fallback')
    await cache.set('obj', { a: [1, 'two'], b: null })
    assert.deepEqual(await cache.get('obj', null), { a: [1, 'two'], b: null })
    await cache.set('n', 0)
    assert.equal(await cache.get('n', 5), 0)
    await cache.set('raw', 'plain text', undefined, { jsonSerialize: false })
    assert.equal(await cache.get('raw', null, { jsonSerialize: false }), 'plain text')
  })

  it('expires keys set with a ttl and by expire()', async () => {
    const cache = new RedisPluginCache(redis, prefix, 1, 1)
    await cache.set('short', 'x', 1)
    const ttl = await redis.ttl(`${prefix}:cache:1:1:short`)
    assert.ok(ttl > 0 && ttl <= 1)
    await cache.set('later', 'y')
    assert.equal(await cache.expire('later', 100), true)
    assert.equal(await cache.expire('nothing-here', 100), false)
    assert.ok((await redis.ttl(`${prefix}:cache:1:1:later`)) > 90)
  })

  it('incr counts from zero', async () => {
    const cache = new RedisPluginCache(redis, prefix, 1, 1)
    assert.equal(await cache.incr('c'), 1)
    assert.equal(await cache.incr('c'), 2)
    assert.equal(await cache.get('c', null), 2)
  })

  it('incrMany counts every key in order in one command per 500 keys, and an empty key or a non-count fails alone', async () => {
    const cache = new RedisPluginCache(redis, prefix, 1, 1)
    await cache.set('text', 'abc')
    const keys = Array.from({ length: 1_203 }, (_, i) => `k${i % 3}`)
    keys.splice(600, 0, 'text', '')
    const before = Number(/^cmdstat_eval:calls=(\d+)/m.exec(await redis.info('commandstats'))?.[1] ?? 0)
    const counts = await cache.incrMany(keys)
    const after = Number(/^cmdstat_eval:calls=(\d+)/m.exec(await redis.info('commandstats'))?.[1] ?? 0)
    assert.equal(after - before, 3, '1 203 counted keys in chunks of 500')
    const seen = new Map<string, number>()
    for (const [i, key] of keys.entries()) {
      const count = counts[i]
      if (key === 'text') assert.match(String(count), /not an integer/)
      else if (key === '') assert.match(String(count), /non-empty string/)
      else {
        seen.set(key, (seen.get(key) ?? 0) + 1)
        assert.equal(count, seen.get(key), `key ${i} (${key}) counted in order`)
      }
    }
    assert.equal(await cache.get('k0', null), 401)
  })

  it('setMany cuts a run into scripts of at most about 1 MiB of values, so Redis serves other clients between them; a value that cannot be encoded fails alone', async () => {
    const cache = new RedisPluginCache(redis, prefix, 1, 1)
    const big = 'x'.repeat(100_000)
    const sets: { key: string; value: unknown }[] = Array.from({ length: 40 }, (_, i) => ({ key: `big${i}`, value: `${i}${big}` }))
    sets.splice(20, 0, { key: 'bigint', value: 10n }, { key: 'alone', value: 'y'.repeat(1_500_000) })
    const scripts = async (): Promise<number> => Number(/^cmdstat_eval:calls=(\d+)/m.exec(await redis.info('commandstats'))?.[1] ?? 0)
    const before = await scripts()
    const replies = await cache.setMany(sets)
    // 10 values of ~100 kB fit under 1 MiB; the 1.5 MB value goes alone (and ends the chunk before it).
    assert.equal((await scripts()) - before, 5, '40 values of 100 kB and one of 1.5 MB')
    for (const [i, { key, value }] of sets.entries()) {
      if (key === 'bigint') assert.match(String(replies[i]), /BigInt/)
      else {
        assert.equal(replies[i], undefined, `set ${key}`)
        assert.equal(await cache.get(key, null), value)
      }
    }
  })

  it('lpush, lrange, llen, lpop and lrem work on Redis lists', async () => {
    const cache = new RedisPluginCache(redis, prefix, 1, 1)
    assert.equal(await cache.lpush('l', ['a', 'b']), 2)
    assert.equal(await cache.lpush('l', 'c'), 3)
    assert.equal(await cache.lpush('l', [{ x: 1 }]), 4)
    assert.deepEqual(await cache.lrange('l', 0, -1), ['{"x":1}', 'c', 'b', 'a'])
    assert.equal(await cache.llen('l'), 4)
    assert.deepEqual(await cache.lpop('l', 2), ['{"x":1}', 'c'])
    assert.equal(await cache.lrem('l', 1, 'a'), 1)
    assert.deepEqual(await cache.lrange('l', 0, -1), ['b'])
    assert.deepEqual(await cache.lpop('empty', 1), [])
  })

  it("keeps teams and plugins apart: one team's plugin never sees another's keys", async () => {
    const teamA = new RedisPluginCache(redis, prefix, 7, 1)
    const teamB = new RedisPluginCache(redis, prefix, 7, 2)
    const otherPlugin = new RedisPluginCache(redis, prefix, 8, 1)
    await teamA.set('secret-ish', 'A')
    assert.equal(await teamB.get('secret-ish', 'none'), 'none')
    assert.equal(await otherPlugin.get('secret-ish', 'none'), 'none')
    assert.equal(await teamB.incr('secret-ish'), 1)
    assert.equal(await teamA.get('secret-ish', null), 'A')
  })
})
