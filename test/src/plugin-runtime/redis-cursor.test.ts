import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { RedisPluginCursor } from '@plugin-server/plugin-runtime'
import { testQueuePrefix } from '../harness/databases'

describe('RedisPluginCursor (meta.utils.cursor)', () => {
  let redis: Redis
  before(() => (redis = new Redis(process.env.REDIS_URL!)))
  after(() => redis.quit())

  it('init sets the start only once and increment is atomic across workers', async () => {
    const prefix = testQueuePrefix()
    const second = new Redis(process.env.REDIS_URL!)
    try {
      const a = new RedisPluginCursor(redis, prefix, 1)
      const b = new RedisPluginCursor(second, prefix, 1)
      await a.init('page', 100)
      await b.init('page', 0)
      const values = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).increment('page', 2)))
      assert.equal(new Set(values).size, 50, 'no two increments saw the same value')
      assert.equal(Math.max(...values), 200)
      assert.equal(await new RedisPluginCursor(redis, prefix, 2).increment('page'), 1, 'another config has its own cursor')
    } finally {
      second.disconnect()
    }
  })
})
