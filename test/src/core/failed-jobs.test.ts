import assert from 'node:assert/strict'
import { UnrecoverableError, Worker } from 'bullmq'
import type { Queue } from 'bullmq'
import Redis from 'ioredis'
import { createQueue, IngestBatch, listFailedJobs, RetryFailedStep, QUEUES, retryableFailedQueue, retryFailedStep } from '@plugin-server/core'
import { ingestEvent } from '../db/ingest-event'
import { testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'

const ALONE = 120
const OTHER = 100
const MIXED = 10

describe('failed jobs: listing and retrying in bounded steps (real BullMQ)', function () {
  this.timeout(60_000)
  let redis: Redis
  let prefix: string
  let queue: Queue<IngestBatch>
  let worker: Worker | null = null
  let workerRedis: Redis | null = null

  /** A worker that fails every batch for good at once, as one whose data Redis evicted. */
  const failEverything = () => {
    workerRedis = redis.duplicate({ maxRetriesPerRequest: null })
    worker = new Worker<IngestBatch>(
      QUEUES.ingest,
      async (job) => {
        throw new UnrecoverableError(`batch ${job.id} refused`)
      },
      { connection: workerRedis, prefix, concurrency: 20 },
    )
  }
  const stopWorker = async () => {
    await worker?.close()
    workerRedis?.disconnect()
    worker = null
    workerRedis = null
  }

  before(async () => {
    redis = new Redis(process.env.REDIS_URL!)
    prefix = testQueuePrefix()
    queue = createQueue<IngestBatch>(QUEUES.ingest, redis, prefix, { defaultJobOptions: { attempts: 3 } })
    const batch = (teams: number[]) => ({ events: teams.map((team_id) => ingestEvent({ team_id, properties: { email: 'jane@example.com' } })) })
    await queue.addBulk([
      ...Array.from({ length: ALONE }, (_, i) => ({ name: 'batch', data: batch([1, 1]), opts: { jobId: `one-${i}` } })),
      ...Array.from({ length: OTHER }, (_, i) => ({ name: 'batch', data: batch([2]), opts: { jobId: `two-${i}` } })),
      ...Array.from({ length: MIXED }, (_, i) => ({ name: 'batch', data: batch([2, 1]), opts: { jobId: `mixed-${i}` } })),
    ])
    failEverything()
    await eventually(
      'every batch failed',
      () => queue.getFailedCount(),
      (n) => n === ALONE + OTHER + MIXED,
    )
    await stopWorker()
  })
  after(async () => {
    await stopWorker()
    await queue?.obliterate({ force: true })
    await queue?.close()
    redis?.disconnect()
  })

  it('refuses a queue whose failed set holds no acknowledged events, naming those it knows', () => {
    assert.throws(() => retryableFailedQueue('jobs'), /unknown queue "jobs": one of ingest, export, export-deliveries/)
  })

  it('lists the newest failed jobs over several reads with teams, counts and reasons, never the events', async () => {
    const listing = await listFailedJobs(queue, 'ingest', 150)
    assert.equal(listing.failed, ALONE + OTHER + MIXED)
    assert.equal(listing.newest.length, 150)
    assert.ok(!JSON.stringify(listing).includes('jane@example.com'))
    const mixed = listing.newest.find((j) => j.jobId.startsWith('mixed-'))!
    assert.deepEqual([mixed.teams, mixed.events, mixed.attempts], [[1, 2], 2, 1])
    assert.match(mixed.reason, /^batch mixed-\d+ refused$/)
  })

  it("retries only a team's own batches with their attempts reset, leaving batches shared with other teams as mixed", async () => {
    const step = await retryFailedStep(queue, { teamId: 2 })
    assert.equal(step.retried.length, OTHER)
    assert.ok(step.retried.every((id) => id.startsWith('two-')))
    assert.equal(step.mixed.length, MIXED)
    assert.equal(step.next, null, 'the whole set was looked at')
    assert.equal(step.remaining, ALONE + MIXED)
    const job = (await queue.getJob('two-0'))!
    assert.equal(await job.getState(), 'waiting')
    assert.equal(job.attemptsMade, 0)
  })

  it('goes through the set in steps bounded by max, retrying each job once even when it fails again at once', async () => {
    failEverything()
    await eventually(
      "the team's retried batches failed again",
      () => queue.getFailedCount(),
      (n) => n === ALONE + OTHER + MIXED,
    )
    const retried = new Set<string>()
    let from: number | null = 0
    let steps = 0
    while (from !== null) {
      const step: RetryFailedStep = await retryFailedStep(queue, { from, max: 40, retriedBefore: retried })
      assert.ok(step.retried.length <= 40)
      for (const id of step.retried) {
        assert.ok(!retried.has(id), `${id} retried twice`)
        retried.add(id)
      }
      from = step.next
      steps++
    }
    // Each is back in the failed set before the next step reads it, and passed over there.
    assert.equal(retried.size, ALONE + OTHER + MIXED)
    assert.ok(steps >= Math.ceil(retried.size / 40), `${steps} steps`)
    await eventually(
      'all failed again',
      () => queue.getFailedCount(),
      (n) => n === ALONE + OTHER + MIXED,
    )
  })
})
