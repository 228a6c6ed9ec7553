import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { RedisPluginCache, TeamRedisAccount } from '@plugin-server/plugin-runtime'
import { testQueuePrefix } from '../harness/databases'
import { waitFor } from '../harness/wait'

/** A team's limit (PLUGIN_TEAM_REDIS_LIMIT_MB) none of the tests but the limit's own come near. */
const LIMIT = 64 * 1024 * 1024

describe('RedisPluginCache (meta.cache)', () => {
  let redis: Redis
  let prefix: string
  before(() => (redis = new Redis(process.env.REDIS_URL!)))
  after(() => redis.quit())
  beforeEach(() => (prefix = testQueuePrefix()))
  /** Scripts Redis has run (EVAL and EVALSHA), from its command statistics. */
  const scriptCalls = async (): Promise<number> => {
    const stats = await redis.info('commandstats')
    return ['eval', 'evalsha'].reduce((n, command) => n + Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0), 0)
  }
  const cacheOf = (pluginId: number, teamId: number, limit = LIMIT) =>
    new RedisPluginCache(redis, prefix, pluginId, new TeamRedisAccount(redis, prefix, teamId, limit))

  it('set/get round-trips JSON values and returns the default when missing', async () => {
    const cache = cacheOf(1, 1)
    assert.equal(await cache.get('missing', 'fallback'), 'fallback')
    await cache.set('obj', { a: [1, 'two'], b: null })
    assert.deepEqual(await cache.get('obj', null), { a: [1, 'two'], b: null })
    await cache.set('n', 0)
    assert.equal(await cache.get('n', 5), 0)
    await cache.set('raw', 'plain text', undefined, { jsonSerialize: false })
    assert.equal(await cache.get('raw', null, { jsonSerialize: false }), 'plain text')
  })

  it('expires keys set with a ttl and by expire()', async () => {
    const cache = cacheOf(1, 1)
    await cache.set('short', 'x', 1)
    const ttl = await redis.ttl(`${prefix}:cache:1:1:short`)
    assert.ok(ttl > 0 && ttl <= 1)
    await cache.set('later', 'y')
    assert.equal(await cache.expire('later', 100), true)
    assert.equal(await cache.expire('nothing-here', 100), false)
    assert.ok((await redis.ttl(`${prefix}:cache:1:1:later`)) > 90)
  })

  it('refuses a ttl longer than Redis keeps a key (Infinity, 1e16 s) or not a number, naming the call and the key; the longest it keeps is kept', async () => {
    const cache = cacheOf(1, 1)
    for (const ttl of [Infinity, 1e16]) {
      await assert.rejects(cache.set('forever', 'x', ttl), {
        message: `cache.set("forever"): a ttl of ${ttl} seconds is longer than a key can be kept (9000000000000); leave the ttl out to keep it`,
      })
      await assert.rejects(cache.expire('forever', ttl), {
        message: `cache.expire("forever"): a ttl of ${ttl} seconds is longer than a key can be kept (9000000000000); leave the ttl out to keep it`,
      })
    }
    await assert.rejects(cache.expire('forever', NaN), { message: 'cache.expire("forever"): ttlSeconds NaN is not a number of seconds' })
    await cache.set('longest', 'y', 9_000_000_000_000)
    assert.ok((await redis.ttl(`${prefix}:cache:1:1:longest`)) > 8_999_999_999_000)
    assert.equal(await cache.expire('longest', 9_000_000_000_000), true)
  })

  it('deletes a key given an expire of any negative number of seconds (-Infinity, -1e21), as Redis does for 0 or less, instead of Redis\' "not an integer"', async () => {
    const cache = cacheOf(1, 1)
    for (const ttl of [-Infinity, -1e21, -1]) {
      await cache.set('gone', 'x')
      assert.equal(await cache.expire('gone', ttl), true, `expire(${ttl})`)
      assert.equal(await cache.get('gone', 'missing'), 'missing', `expire(${ttl}) deleted the key`)
    }
  })

  it('incr counts from zero', async () => {
    const cache = cacheOf(1, 1)
    assert.equal(await cache.incr('c'), 1)
    assert.equal(await cache.incr('c'), 2)
    assert.equal(await cache.get('c', null), 2)
  })

  it('incrMany counts every key in order in one command per 500 keys, and an empty key or a non-count fails alone', async () => {
    const cache = cacheOf(1, 1)
    await cache.set('text', 'abc')
    const keys = Array.from({ length: 1_203 }, (_, i) => `k${i % 3}`)
    keys.splice(600, 0, 'text', '')
    const before = await scriptCalls()
    const counts = await cache.incrMany(keys)
    const after = await scriptCalls()
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
    const cache = cacheOf(1, 1)
    const big = 'x'.repeat(100_000)
    const sets: { key: string; value: unknown }[] = Array.from({ length: 40 }, (_, i) => ({ key: `big${i}`, value: `${i}${big}` }))
    sets.splice(20, 0, { key: 'bigint', value: 10n }, { key: 'alone', value: 'y'.repeat(1_500_000) })
    const before = await scriptCalls()
    const replies = await cache.setMany(sets)
    // 10 values of ~100 kB fit under 1 MiB; the 1.5 MB value goes alone (and ends the chunk before it).
    assert.equal((await scriptCalls()) - before, 5, '40 values of 100 kB and one of 1.5 MB')
    for (const [i, { key, value }] of sets.entries()) {
      if (key === 'bigint') assert.match(String(replies[i]), /BigInt/)
      else {
        assert.equal(replies[i], undefined, `set ${key}`)
        assert.equal(await cache.get(key, null), value)
      }
    }
  })

  it('readMany answers the stored text of the keys whose values fit in maxBytes together, in order; nothing past the bound leaves Redis', async () => {
    const cache = cacheOf(1, 1)
    const value = 'v'.repeat(900_000)
    for (let i = 0; i < 6; i++) await cache.set(`big${i}`, `${i}${value}`)
    await cache.set('raw', 'plain', undefined, { jsonSerialize: false })
    await cache.lpush('list', 'a')
    const sentBytes = async () => Number(/^total_net_output_bytes:(\d+)/m.exec(await redis.info('stats'))![1])
    const before = await sentBytes()
    const answers = await cache.readMany(['raw', 'missing', 'list', 'big0', 'big1', 'big2', 'big3', 'big4', 'big5', ''], 2_000_000)
    const sent = (await sentBytes()) - before
    assert.deepEqual(answers.slice(0, 2), ['plain', null])
    assert.match(String(answers[2]), /^Error: WRONGTYPE/)
    assert.deepEqual(answers.slice(3, 5), [JSON.stringify(`0${value}`), JSON.stringify(`1${value}`)])
    assert.deepEqual(answers.slice(5, 9), [undefined, undefined, undefined, undefined], 'the values past 2 MB together are not read')
    assert.match(String(answers[9]), /non-empty string/)
    assert.ok(sent < 2_000_000, `Redis sent ${sent} bytes for two values of 900 kB (all six would be 5.4 MB)`)
  })

  it('runs its scripts by SHA, and sends one whole again when Redis has lost it (SCRIPT FLUSH, a restart)', async () => {
    const cache = cacheOf(1, 1)
    await cache.set('before', 1)
    await redis.script('FLUSH')
    await cache.set('after', 2)
    assert.deepEqual([await cache.get('before', null), await cache.get('after', null)], [1, 2])
    assert.equal(await cache.incr('counted'), 1)
  })

  it('lpush, lrange, llen, lpop and lrem work on Redis lists', async () => {
    const cache = cacheOf(1, 1)
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

  it('lrange and lpop refuse a reply holding more than PLUGIN_CACHE_MAX_VALUE_BYTES, naming the call, key and limit, and lpop then pops nothing', async () => {
    // Each element counts its bytes and 16 of overhead: ten of 1 000 bytes fit in 10 240, eleven do not.
    const cache = new RedisPluginCache(redis, prefix, 1, new TeamRedisAccount(redis, prefix, 1, LIMIT), 10_240)
    await cache.lpush(
      'big',
      Array.from({ length: 100 }, () => 'x'.repeat(1000)),
    )
    await assert.rejects(cache.lrange('big', 0, -1), /cache\.lrange\("big", 0, -1\) refused: .*more than 10240 bytes.*PLUGIN_CACHE_MAX_VALUE_BYTES/)
    await assert.rejects(cache.lpop('big', 11), /cache\.lpop\("big", 11\) refused: .*more than 10240 bytes.*PLUGIN_CACHE_MAX_VALUE_BYTES/)
    assert.equal(await cache.llen('big'), 100)
    assert.equal((await cache.lrange('big', 0, 9)).length, 10)
    assert.equal((await cache.lrange('big', -10, -1)).length, 10)
    assert.equal((await cache.lpop('big', 10)).length, 10)
    assert.equal(await cache.llen('big'), 90)
  })

  it('lrange counts an empty element as its overhead: a long list of empty strings is refused, not read element by element', async () => {
    const cache = new RedisPluginCache(redis, prefix, 1, new TeamRedisAccount(redis, prefix, 1, LIMIT), 1024 * 1024)
    for (let i = 0; i < 20; i++)
      await cache.lpush(
        'empties',
        Array.from({ length: 10_000 }, () => ''),
      )
    const before = Number((await redis.info('commandstats')).match(/cmdstat_lrange:calls=(\d+)/)?.[1] ?? 0)
    await assert.rejects(cache.lrange('empties', 0, -1), /refused: .*more than 1048576 bytes/)
    const calls = Number((await redis.info('commandstats')).match(/cmdstat_lrange:calls=(\d+)/)?.[1] ?? 0) - before
    // 1 MiB / 16 bytes of overhead, 8 elements per window (8 MiB / 1 MiB): at most 8 192 LRANGE calls, not 200 000.
    assert.ok(calls <= 8_193, `${calls} LRANGE calls`)
    assert.equal((await cache.lrange('empties', 0, 999)).length, 1000)
  })

  describe("a team's limit (PLUGIN_TEAM_REDIS_LIMIT_MB)", () => {
    const MiB = 1024 * 1024
    const total = async (teamId: number): Promise<number> => Number((await redis.get(`${prefix}:redis-account:${teamId}:total`)) ?? 0)
    /** The account's total is the sum of what it holds per key. */
    const assertConsistent = async (teamId: number): Promise<void> => {
      const sizes = (await redis.hvals(`${prefix}:redis-account:${teamId}:sizes`)).map(Number)
      assert.equal(
        await total(teamId),
        sizes.reduce((a, b) => a + b, 0),
        'total = sum of the sizes',
      )
    }

    it("refuses a write that would take the team's keys together over the limit, naming it; the team's other plugins share it, other teams do not", async () => {
      const pluginA = cacheOf(1, 1, MiB)
      const pluginB = cacheOf(2, 1, MiB)
      const otherTeam = cacheOf(1, 2, MiB)
      const value = 'v'.repeat(150_000)
      for (let i = 0; i < 5; i++) await pluginA.set(`k${i}`, value)
      await assert.rejects(
        pluginB.set('more', 'w'.repeat(300_000)),
        /^Error: cache\.set refused: team 1's plugins hold 0\.7 MB of Redis \(cache and jobs\) together and this would add 0\.3 MB, over PLUGIN_TEAM_REDIS_LIMIT_MB \(1\.0 MB\); give cache keys a ttlSeconds, or write and enqueue less$/,
      )
      assert.equal(await redis.exists(`${prefix}:cache:2:1:more`), 0, 'a refused write changes nothing')
      await otherTeam.set('more', 'w'.repeat(300_000))
      // Writing a key again is not counted twice; what fits of a run passes, the rest is refused one by one.
      await pluginA.set('k0', value)
      const replies = await pluginB.setMany(Array.from({ length: 4 }, (_, i) => ({ key: `b${i}`, value: 'x'.repeat(100_000) })))
      assert.deepEqual(
        replies.map((r) => (r ? 'refused' : 'set')),
        ['set', 'set', 'refused', 'refused'],
      )
      assert.match(String(replies[2]), /PLUGIN_TEAM_REDIS_LIMIT_MB/)
      await assertConsistent(1)
      assert.ok((await total(1)) <= MiB, `team 1 holds ${await total(1)} bytes`)
    })

    it("refuses a write that would take every team's plugins together past PLUGIN_REDIS_LIMIT_MB, naming it but not what the other teams hold, and keeps the fleet's total as the teams' sum", async () => {
      const fleetCache = (teamId: number) => new RedisPluginCache(redis, prefix, 1, new TeamRedisAccount(redis, prefix, teamId, MiB, { fleetLimitBytes: MiB }))
      const [a, b] = [fleetCache(1), fleetCache(2)]
      await a.set('k', 'a'.repeat(600_000))
      await assert.rejects(b.set('k', 'b'.repeat(600_000)), (error: Error) => {
        assert.match(error.message, /^cache\.set refused: it would add 0\.6 MB to Redis, and the plugins of all teams together are at PLUGIN_REDIS_LIMIT_MB;/)
        assert.doesNotMatch(error.message, /1\.0 MB/, "neither the other teams' total nor the fleet's limit")
        return true
      })
      await b.set('small', 'b'.repeat(100_000))
      await a.set('k', 'small now')
      await b.set('k', 'b'.repeat(600_000))
      const fleet = Number(await redis.get(`${prefix}:redis-account:fleet-total`))
      assert.equal(fleet, (await total(1)) + (await total(2)))
      assert.ok(fleet <= MiB)
    })

    it('gives the bytes back when a key expires, a list empties or a value shrinks', async () => {
      const cache = cacheOf(1, 1, MiB)
      await cache.set('short', 's'.repeat(900_000), 1)
      await assert.rejects(cache.set('next', 'n'.repeat(200_000)), /refused/)
      // Redis expires the key after a second; the next write of the team finds that and takes its bytes back.
      await waitFor(
        'the key with a TTL of 1 s',
        () => redis.exists(`${prefix}:cache:1:1:short`),
        (exists) => exists === 0,
      )
      await cache.set('next', 'n'.repeat(200_000))
      assert.ok((await total(1)) < 250_000, `the expired key's bytes came back (${await total(1)} held)`)

      const held = await total(1)
      await cache.lpush('list', ['a'.repeat(300_000), 'b'.repeat(300_000)])
      assert.ok((await total(1)) > held + 600_000)
      assert.equal((await cache.lpop('list', 1)).length, 1)
      assert.ok((await total(1)) < held + 400_000, 'the popped element came off')
      assert.equal(await cache.lrem('list', 1, 'a'.repeat(300_000)), 1)
      assert.equal(await total(1), held, 'the emptied list is gone, and its key with it')

      await cache.set('next', 'small')
      assert.ok((await total(1)) < 1000, 'a value overwritten smaller')
      await cache.expire('next', 0)
      assert.equal(await total(1), 0, 'a key expired at once by expire()')
      await assertConsistent(1)
    })

    it('keeps no account of keys that expired, however many a team writes with a TTL (three runs of 500 keys living a second)', async () => {
      const cache = cacheOf(1, 1, MiB)
      for (let round = 0; round < 3; round++) {
        const replies = await cache.setMany(Array.from({ length: 500 }, (_, i) => ({ key: `r${round}-${i}`, value: 'v'.repeat(100), ttlSeconds: 1 })))
        assert.ok(replies.every((r) => r === undefined))
        if (round < 2)
          await waitFor(
            `round ${round}'s keys to expire`,
            () => redis.exists(`${prefix}:cache:1:1:r${round}-499`),
            (n) => n === 0,
          )
      }
      // Each write clears up to twice what it adds: the 1 000 expired entries went with the last run of 500.
      assert.equal(await redis.hlen(`${prefix}:redis-account:1:sizes`), 500)
      assert.equal(await redis.zcard(`${prefix}:redis-account:1:expiries`), 500)
      await assertConsistent(1)
    })

    it('counts each new counter of incr against the limit; a new one past it fails alone, existing ones still count', async () => {
      const cache = cacheOf(1, 1, 1000)
      const counts = await cache.incrMany(Array.from({ length: 20 }, (_, i) => `c${i}`))
      const refused = counts.filter((c) => c instanceof Error)
      assert.ok(refused.length > 0 && refused.length < 20, `${refused.length} of 20 new counters refused`)
      assert.match(String(refused[0]), /cache\.incr refused: .*PLUGIN_TEAM_REDIS_LIMIT_MB/)
      assert.equal(await cache.incr('c0'), 2, 'a counter that exists counts on at the limit')
      await assert.rejects(cache.incr('c19'), /refused/)
      await assertConsistent(1)
    })

    it('refuses a list push past the limit whole, changing nothing', async () => {
      const cache = cacheOf(1, 1, MiB)
      await cache.lpush('list', ['a'.repeat(600_000)])
      await assert.rejects(cache.lpush('list', ['b'.repeat(300_000), 'c'.repeat(300_000)]), /cache\.lpush refused/)
      assert.equal(await cache.llen('list'), 1)
      await assertConsistent(1)
    })
  })

  it("keeps teams and plugins apart: one team's plugin never sees another's keys", async () => {
    const teamA = cacheOf(7, 1)
    const teamB = cacheOf(7, 2)
    const otherPlugin = cacheOf(8, 1)
    await teamA.set('secret-ish', 'A')
    assert.equal(await teamB.get('secret-ish', 'none'), 'none')
    assert.equal(await otherPlugin.get('secret-ish', 'none'), 'none')
    assert.equal(await teamB.incr('secret-ish'), 1)
    assert.equal(await teamA.get('secret-ish', null), 'A')
  })
})
