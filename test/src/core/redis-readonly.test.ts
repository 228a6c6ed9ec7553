import assert from 'node:assert/strict'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import Redis from 'ioredis'
import pino from 'pino'
import { createQueue, createRedis, QUEUES } from '@plugin-server/core'
import { LocalServer, startRedisServer } from '@plugin-server/dev-services'
import { testQueuePrefix } from '../harness/databases'

/** What a managed Redis' DNS name is: new connections go to the current primary, open ones stay where they were. */
class MovableAddress {
  targetPort = 0
  private readonly sockets = new Set<net.Socket>()
  private readonly server = net.createServer((client) => {
    const upstream = net.connect(this.targetPort, '127.0.0.1')
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      this.sockets.add(from)
      from.pipe(to)
      from.on('error', () => to.destroy())
      from.on('close', () => (this.sockets.delete(from), to.destroy()))
    }
  })

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    return `redis://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

/**
 * After a managed failover the old primary, now a replica, answers READONLY to every write on the
 * connections still open to it: without a reconnect every role failed writes until its pods restarted.
 */
describe('a Redis connection whose node becomes a replica (failover)', function () {
  this.timeout(60_000)
  let primary: LocalServer
  let promoted: LocalServer
  let address: MovableAddress
  let admin: Redis[]
  let redis: Redis
  let logLines: Record<string, unknown>[]

  before(async () => {
    ;[primary, promoted] = await Promise.all([startRedisServer(), startRedisServer()])
    admin = [new Redis(primary.url), new Redis(promoted.url)]
    address = new MovableAddress()
    address.targetPort = primary.port
    logLines = []
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _encoding, done) => (logLines.push(JSON.parse(String(chunk))), done()) }))
    redis = createRedis(await address.listen(), logger, 'test:failover')
  })
  after(async () => {
    redis?.disconnect()
    admin?.forEach((c) => c.disconnect())
    await address?.close()
    await Promise.all([primary?.stop(), promoted?.stop()])
  })

  it('reconnects on READONLY to the node the address now names and sends the write again, saying why once', async () => {
    const queue = createQueue<{ n: number }>(QUEUES.ingest, redis, testQueuePrefix())
    await queue.add('job', { n: 1 })
    // The failover: the other node is primary, the address moves to it, the old one follows it.
    address.targetPort = promoted.port
    await admin[0].replicaof('127.0.0.1', promoted.port)

    assert.equal(await redis.set('after-failover', 'written'), 'OK')
    assert.equal(await admin[1].get('after-failover'), 'written')
    // BullMQ's writes are scripts: the same READONLY, the same reconnect.
    await queue.add('job', { n: 2 }, { jobId: 'after-failover' })
    assert.equal(await admin[1].exists(queue.toKey('after-failover')), 1)
    const readOnly = logLines.filter((l) => String(l.msg).startsWith('Redis answered READONLY'))
    assert.deepEqual(
      readOnly.map((l) => [l.msg, l.connection]),
      [['Redis answered READONLY: connected to a replica (failover?), reconnecting', 'test:failover']],
    )
    await queue.close()
  })

  it('rejects a write with READONLY once the node behind the address stays a replica, after a few resends, instead of hanging', async () => {
    // The address still names the demoted node (a DNS name that lags, or REDIS_URL naming a replica).
    const stuck = createRedis(primary.url, pino({ level: 'silent' }), 'test:stuck-replica')
    try {
      await assert.rejects(stuck.set('on-a-replica', 'x'), /READONLY/)
      assert.equal(await admin[1].exists('on-a-replica'), 0)
    } finally {
      stuck.disconnect()
    }
  })
})
