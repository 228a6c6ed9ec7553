import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { closeFleetServices, fleetServices, redisOwnAddress } from '@plugin-server/plugin-runtime'

describe("plugin-runtime: the fleet's services closed to plugins (fleet-services.ts)", function () {
  let redis: Redis
  before(() => {
    redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 })
  })
  after(() => redis.disconnect())

  it("fleetServices: REDIS_URL's host and port (ioredis' localhost and 6379 when absent) and METRICS_PORT on this host", () => {
    assert.deepEqual(
      fleetServices({ redisUrl: 'redis://redis.cache:6380/0' }, 9102).map(({ host, port, name }) => ({ host, port, name })),
      [
        { host: 'redis.cache', port: 6380, name: "the fleet's own Redis (REDIS_URL)" },
        { host: '127.0.0.1', port: 9102, name: "this process's health and metrics port (METRICS_PORT)" },
      ],
    )
    const [bare] = fleetServices({ redisUrl: 'redis://' })
    assert.deepEqual([bare.host, bare.port, bare.discover], ['localhost', 6379, undefined], 'without a connection, nothing to ask')
  })

  it("fleetServices: asks the real Redis where it is (CLIENT INFO's laddr: an address it took the connection on, at the port it listens on)", async () => {
    const [service] = fleetServices({ redisUrl: process.env.REDIS_URL! }, undefined, redis)
    const [port] = ((await redis.config('GET', 'port')) as string[]).slice(1)
    const [endpoint] = await service.discover!()
    assert.match(endpoint, new RegExp(`^\\[?[0-9a-f.:]+\\]?:${port}$`))
  })

  it('closeFleetServices: waits for a connection just opened to be ready, then knows where Redis is; says nothing is unresolved', async () => {
    const fresh = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 })
    const closed = await closeFleetServices({ redisUrl: process.env.REDIS_URL! }, { redis: fresh })
    try {
      assert.deepEqual([closed.undiscovered(), closed.unresolved()], [[], []])
      const [endpoint] = redisOwnAddress(await redis.client('INFO'))
      const at = endpoint.lastIndexOf(':')
      assert.notEqual(closed.refusal(endpoint.slice(0, at).replace(/^\[|\]$/g, ''), Number(endpoint.slice(at + 1))), null)
    } finally {
      closed.stop()
      fresh.disconnect()
    }
  })

  it('redisOwnAddress: reads laddr wherever it stands, and nothing from a Redis that does not give it (before 6.2)', () => {
    assert.deepEqual(redisOwnAddress('id=3 addr=10.0.0.7:51234 laddr=10.1.2.3:6379 fd=8 name='), ['10.1.2.3:6379'])
    assert.deepEqual(redisOwnAddress('laddr=[fd00::5]:6379 id=4'), ['[fd00::5]:6379'])
    assert.deepEqual(redisOwnAddress('id=3 addr=10.0.0.7:51234 fd=8'), [])
  })
})
