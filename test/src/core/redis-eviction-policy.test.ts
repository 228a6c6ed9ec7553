import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import Redis from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { watchEvictionPolicy } from '@plugin-server/core'
import { LocalServer, startRedisServer } from '@plugin-server/dev-services'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import type { FleetProcess } from '../harness/processes'

/**
 * Under any maxmemory-policy but noeviction a full Redis deletes keys, BullMQ's among them: events
 * capture answered 200 for were never stored, and no role said a word. A Redis of its own: the
 * policy is server-wide.
 */
describe('a Redis whose maxmemory-policy evicts', function () {
  this.timeout(60_000)
  let server: LocalServer
  let redis: Redis
  let fleet: TestFleet
  let capture: FleetProcess

  before(async () => {
    server = await startRedisServer()
    redis = new Redis(server.url)
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru')
    fleet = await createTestFleet({ REDIS_URL: server.url, REDIS_POLICY_CHECK_INTERVAL_MS: '200' })
    capture = await fleet.start('capture')
  })
  after(async () => {
    await fleet?.close()
    redis?.disconnect()
    await server?.stop()
  })

  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${await capture.healthPort()}/readyz`)
    return { status: res.status, failures: ((await res.json()) as { failures?: Record<string, string> }).failures ?? {} }
  }

  it('fails readiness naming the policy, logs it as an error and exports it, until the policy is noeviction again', async () => {
    const problem =
      'Redis maxmemory-policy is allkeys-lru, not noeviction: a full Redis deletes keys to make room, queued jobs among them, ' +
      'so events capture acknowledged can be lost; set maxmemory-policy noeviction'
    const notReady = await readyz()
    assert.equal(notReady.status, 503)
    assert.equal(notReady.failures['redis eviction policy'], problem)
    const logged = await capture.waitForLog((l) => l.policy === 'allkeys-lru')
    assert.deepEqual([logged.level, logged.msg], [50, problem])
    assert.match(await capture.metrics(), /^redis_maxmemory_policy_info\{policy="allkeys-lru",role="capture"\} 1$/m)

    await redis.config('SET', 'maxmemory-policy', 'noeviction')
    await eventually('capture ready again', readyz, (r) => r.status === 200)
    assert.match(await capture.metrics(), /^redis_maxmemory_policy_info\{policy="noeviction",role="capture"\} 1$/m)
    assert.doesNotMatch(await capture.metrics(), /policy="allkeys-lru"/)
  })

  it('says once that the policy is not checked when Redis refuses INFO (an ACL), and fails no readiness for it', async () => {
    await redis.acl('SETUSER', 'no-info', 'on', '>pw', '~*', '+@all', '-info')
    const limited = new Redis(server.url, { username: 'no-info', password: 'pw' })
    const lines: Record<string, unknown>[] = []
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk))), done()) }))
    const watch = watchEvictionPolicy(limited, logger, new Registry(), 60_000)
    try {
      await watch.check()
      await watch.check()
      assert.equal(watch.policy(), null)
      assert.equal(lines.length, 1)
      assert.match(String(lines[0].msg), /^Redis maxmemory-policy could not be read \(NOPERM.*\), so it is not checked: make sure it is noeviction$/)
    } finally {
      watch.close()
      limited.disconnect()
    }
  })
})
