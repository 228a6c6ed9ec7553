import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { RedisPluginCursor, TeamRedisAccount } from '@plugin-server/plugin-runtime'
import { testQueuePrefix } from '../harness/databases'

describe('RedisPluginCursor (meta.utils.cursor)', () => {
  let redis: Redis
  before(() => (redis = new Redis(process.env.REDIS_URL!)))
  after(() => redis.quit())

  it('init sets the start only once and increment is atomic across workers', async () => {
    const prefix = testQueuePrefix()
    const second = new Redis(process.env.REDIS_URL!)
    const cursor = (client: Redis, configId: number) => new RedisPluginCursor(client, prefix, configId, new TeamRedisAccount(client, prefix, 1, 1024 * 1024))
    try {
      const a = cursor(redis, 1)
      const b = cursor(second, 1)
      await a.init('page', 100)
      await b.init('page', 0)
      const values = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).increment('page', 2)))
      assert.equal(new Set(values).size, 50, 'no two increments saw the same value')
      assert.equal(Math.max(...values), 200)
      assert.equal(await cursor(redis, 2).increment('page'), 1, 'another config has its own cursor')
    } finally {
      second.disconnect()
    }
  })

  it("counts each new cursor against its team's PLUGIN_TEAM_REDIS_LIMIT_MB: past it a new name is refused, the cursors made count on", async () => {
    const prefix = testQueuePrefix()
    const cursor = new RedisPluginCursor(redis, prefix, 1, new TeamRedisAccount(redis, prefix, 1, 1000))
    const made: string[] = []
    let refusal: unknown
    for (let i = 0; i < 50 && !refusal; i++) {
      try {
        await (i % 2 ? cursor.increment(`page-${i}`) : cursor.init(`page-${i}`, 5))
        made.push(`page-${i}`)
      } catch (error) {
        refusal = error
      }
    }
    assert.ok(made.length > 2 && made.length < 50, `${made.length} cursors made before the limit`)
    assert.match(String(refusal), /^Error: utils\.cursor\.(init|increment) refused: team 1's plugins hold .* over PLUGIN_TEAM_REDIS_LIMIT_MB/)
    assert.equal(await cursor.value(`page-${made.length}`), null, 'the refused cursor was not made')
    assert.equal(await cursor.increment('page-0', 3), 8, 'a cursor made before counts on at the limit')
    await cursor.init('page-1', 100)
    assert.equal(await cursor.value('page-1'), 1, 'init leaves a cursor that exists as it is')
  })
})
