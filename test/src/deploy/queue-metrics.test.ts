import assert from 'node:assert/strict'
import { Queue, Worker } from 'bullmq'
import Redis from 'ioredis'
import { Registry } from 'prom-client'
import { MONITORED_QUEUES, observeQueueWorker, QUEUES, readQueueDepths, registerQueueDepthMetrics } from '@plugin-server/core'
import { DELIVERIES_QUEUE } from '@plugin-server/export'
import { testQueuePrefix } from '../harness/databases'
import { assertOneReadWhileUnanswered, silentRedis } from '../harness/silent-redis'
import { bound } from '../harness/wait'

describe('queue metrics', () => {
  let redis: Redis
  let prefix: string
  const closers: (() => Promise<unknown>)[] = []

  beforeEach(() => {
    redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
    prefix = testQueuePrefix()
  })
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close()
    redis.disconnect()
  })

  it('watches every queue of the fleet, including the exporter deliveries', () => {
    for (const queue of [...Object.values(QUEUES), DELIVERIES_QUEUE]) assert.ok(MONITORED_QUEUES.includes(queue), queue)
  })

  it('reads the same counts as BullMQ, from the keys KEDA reads', async () => {
    const queue = new Queue('jobs', { connection: redis, prefix })
    closers.push(() => queue.close())
    await queue.add('a', {}, { timestamp: Date.now() - 5000 })
    await queue.add('b', {})
    await queue.add('c', {}, { delay: 60_000 })
    await queue.add('d', {}, { priority: 3 })
    const [depth] = await readQueueDepths(redis, prefix, ['jobs'])
    const bull = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'waiting-children')
    assert.deepEqual(depth.counts, bull)
    assert.deepEqual(depth.counts, { waiting: 2, active: 0, prioritized: 1, delayed: 1, failed: 0, 'waiting-children': 0 })
    // The key in values.yaml's KEDA triggers: the wait list holds exactly the waiting jobs.
    assert.equal(await redis.llen(`${prefix}:jobs:wait`), 2)
    assert.ok(depth.oldestWaitingSeconds >= 4.5 && depth.oldestWaitingSeconds < 60, String(depth.oldestWaitingSeconds))
    assert.equal(depth.paused, false)
    await queue.pause()
    assert.equal((await readQueueDepths(redis, prefix, ['jobs']))[0].paused, true)
  })

  it('exports gauges at scrape time and counts finished jobs per queue', async () => {
    const registry = new Registry()
    registerQueueDepthMetrics(registry, () => redis, prefix, ['ingest', 'jobs'])
    const queue = new Queue('ingest', { connection: redis, prefix })
    closers.push(() => queue.close())
    await queue.addBulk([
      { name: 'x', data: {} },
      { name: 'y', data: {} },
      { name: 'z', data: { fail: true } },
    ])
    const before = await registry.metrics()
    assert.match(before, /queue_jobs\{queue="ingest",state="waiting"\} 3/)
    assert.match(before, /queue_jobs\{queue="jobs",state="waiting"\} 0/)
    assert.match(before, /queue_oldest_waiting_seconds\{queue="ingest"\} [\d.]+/)

    const connection = redis.duplicate()
    const worker = new Worker<{ fail?: boolean }>(
      'ingest',
      async (job) => {
        if (job.data.fail) throw new Error('no')
      },
      { connection, prefix },
    )
    // A connection handed to BullMQ stays open after close(): left open, it would keep mocha alive.
    closers.push(async () => connection.disconnect())
    closers.push(() => worker.close())
    observeQueueWorker(registry, worker)
    const deadline = Date.now() + bound(10_000)
    let text = ''
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1100))
      text = await registry.metrics()
      if (/queue_jobs\{queue="ingest",state="failed"\} 1/.test(text) && /outcome="failed"\} 1/.test(text)) break
    }
    assert.match(text, /queue_jobs_processed_total\{queue="ingest",outcome="completed"\} 2/)
    assert.match(text, /queue_jobs_processed_total\{queue="ingest",outcome="failed"\} 1/)
    assert.match(text, /queue_job_duration_seconds_count\{queue="ingest",outcome="completed"\} 2/)
    assert.match(text, /queue_jobs\{queue="ingest",state="waiting"\} 0/)
    assert.match(text, /queue_oldest_waiting_seconds\{queue="ingest"\} 0/)
  })

  it('keeps /metrics answering when Redis does not', async () => {
    const registry = new Registry()
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    dead.on('error', () => undefined)
    registerQueueDepthMetrics(registry, () => dead, prefix)
    await registry.metrics()
    // The failed read is counted during the scrape, so it shows from the next one.
    const text = await registry.metrics()
    assert.match(text, /queue_depth_read_errors_total 1/)
    assert.doesNotMatch(text, /queue_jobs\{/)
    dead.disconnect()
  })

  it('sends a Redis that does not answer one read, however many scrapes come while it is unanswered', async () => {
    const silent = await silentRedis()
    try {
      const registry = new Registry()
      registerQueueDepthMetrics(registry, () => silent.client, prefix)
      await assertOneReadWhileUnanswered(silent, registry)
      assert.match(await registry.metrics(), /queue_depth_read_errors_total [34]/)
    } finally {
      silent.close()
    }
  })
})
