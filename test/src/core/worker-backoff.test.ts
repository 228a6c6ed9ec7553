import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import type { Queue, Worker } from 'bullmq'
import Redis from 'ioredis'
import pino from 'pino'
import { createQueue, createWorker, QUEUES } from '@plugin-server/core'
import { LocalServer, startRedisServer } from '@plugin-server/dev-services'
import { testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'

const BACKOFF = { firstDelayMs: 100, maxDelayMs: 400, logIntervalMs: 1000 }

/**
 * A Redis refusing writes (OOM at maxmemory here; READONLY after a failover alike) fails every fetch
 * of a BullMQ worker, and BullMQ fetched again at once: with a backlog, ~100 000 error lines in 15 s
 * and a core spinning. A Redis of its own: maxmemory is server-wide.
 */
describe('a queue worker whose Redis refuses writes', function () {
  this.timeout(60_000)
  let server: LocalServer
  let admin: Redis
  let connections: Redis[]
  let queue: Queue<{ n: number }>
  let worker: Worker<{ n: number }>
  let errors: number[]
  let pauses: number[]
  let logLines: Record<string, unknown>[]

  before(async () => {
    server = await startRedisServer()
    admin = new Redis(server.url)
    connections = [new Redis(server.url, { maxRetriesPerRequest: null }), new Redis(server.url, { maxRetriesPerRequest: null })]
    const prefix = testQueuePrefix()
    queue = createQueue(QUEUES.export, connections[0], prefix)
    await queue.addBulk(Array.from({ length: 20 }, (_, n) => ({ name: 'job', data: { n } })))
    await admin.config('SET', 'maxmemory', '1')
    logLines = []
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _encoding, done) => (logLines.push(JSON.parse(String(chunk))), done()) }))
    errors = []
    pauses = []
    worker = createWorker(QUEUES.export, async () => undefined, connections[1], prefix, logger, { autorun: false }, BACKOFF)
    worker.on('error', () => errors.push(Date.now()))
    worker.on('paused', () => pauses.push(Date.now()))
    void worker.run()
  })
  after(async () => {
    await worker?.close()
    await queue?.close()
    connections?.forEach((c) => c.disconnect())
    admin?.disconnect()
    await server?.stop()
  })

  it('pauses after each refusal for a delay doubling up to its cap, instead of fetching again at once', async () => {
    await eventually(
      'five pauses (or a thousand errors without any)',
      async () => [pauses.length, errors.length],
      ([p, e]) => p >= 5 || e >= 1000,
    )
    // A fetch and the stalled check can both be refused before the first pause: two errors a pause at most.
    assert.ok(errors.length <= 2 * pauses.length, `${errors.length} errors for ${pauses.length} pauses`)
    const gaps = pauses.slice(1, 5).map((t, i) => t - pauses[i])
    const delays = [100, 200, 400, 400]
    assert.ok(
      gaps.every((gap, i) => gap >= delays[i] - 5),
      `${gaps.join(', ')} ms between pauses, expected at least ${delays.join(', ')}`,
    )
    assert.equal(logLines[0].msg, 'queue worker error, pausing it for 100 ms')
    assert.equal(logLines[0].queue, QUEUES.export)
    assert.match(String(logLines[0].err), /^OOM command not allowed/)
  })

  it('logs one line per interval, the next counting the errors it left out', async () => {
    await eventually(
      'a line counting the errors left out',
      async () => logLines.find((l) => typeof l.suppressed === 'number'),
      (l) => l !== undefined,
    )
    const counted = logLines.find((l) => typeof l.suppressed === 'number')!
    assert.match(String(counted.msg), /^queue worker error: \d+ more in the last 1000 ms, not logged one by one$/)
    assert.ok(logLines.length < errors.length, `${logLines.length} lines for ${errors.length} errors`)
  })

  it('takes the backlog once Redis accepts writes again', async () => {
    await admin.config('SET', 'maxmemory', '0')
    await eventually(
      'the backlog done',
      () => queue.getCompletedCount(),
      (n) => n === 20,
    )
  })
})

describe('a queue worker meeting an error that is not a write refusal', function () {
  this.timeout(30_000)

  it('only logs it (a lost lock is one job’s, not a reason to stop taking jobs), and keeps taking jobs', async () => {
    const connections = [new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null }), new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })]
    const prefix = testQueuePrefix()
    const queue = createQueue<{ n: number }>(QUEUES.export, connections[0], prefix)
    const logLines: Record<string, unknown>[] = []
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _encoding, done) => (logLines.push(JSON.parse(String(chunk))), done()) }))
    const worker = createWorker<{ n: number }>(QUEUES.export, async () => undefined, connections[1], prefix, logger, {}, BACKOFF)
    try {
      // What BullMQ's lock extender emits when a job's lock was lost; the worker itself is fine.
      worker.emit('error', new Error('could not renew lock for job 42'))
      assert.equal(worker.isPaused(), false)
      assert.deepEqual(
        logLines.map((l) => [l.msg, l.err]),
        [['queue worker error', 'could not renew lock for job 42']],
      )
      await queue.add('job', { n: 1 })
      await eventually(
        'the job done',
        () => queue.getCompletedCount(),
        (n) => n === 1,
      )
    } finally {
      await worker.close()
      await queue.close()
      connections.forEach((c) => c.disconnect())
    }
  })
})
