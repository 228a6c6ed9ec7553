import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { Queue, Worker } from 'bullmq'
import Redis from 'ioredis'
import {
  BULLMQ_INTERNALS_VERSION,
  BULLMQ_JOB_FINISHED_FIELD,
  bullmqKeys,
  deduplicationJobIds,
  dropDeduplicatedSuccessor,
  hasDeduplicatedSuccessor,
  jobsData,
  jobsExist,
  readQueueDepths,
  setWorkerConcurrency,
} from '@plugin-server/core'
import { testQueuePrefix } from '../harness/databases'
import { waitFor } from '../harness/wait'

const bullmqVersion = (createRequire(__filename)('bullmq/package.json') as { version: string }).version

describe('BullMQ internals adapter (libs/core bullmq-internals.ts)', () => {
  let redis: Redis
  let queue: Queue
  let prefix: string
  let worker: Worker | undefined
  let workerRedis: Redis | undefined

  beforeEach(() => {
    redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
    prefix = testQueuePrefix()
    queue = new Queue('scheduled', { connection: redis, prefix })
  })

  afterEach(async () => {
    await worker?.close()
    workerRedis?.disconnect()
    worker = undefined
    workerRedis = undefined
    await queue.close()
    redis.disconnect()
  })

  it('was written for the installed BullMQ version (an upgrade must re-check these reads)', () => {
    assert.equal(bullmqVersion, BULLMQ_INTERNALS_VERSION)
  })

  it('finds a waiting job where BullMQ keeps it: the wait list, the job hash and the queue depth read from them', async () => {
    const job = await queue.add('t', { n: 1 })
    assert.equal(await redis.lindex(bullmqKeys(prefix, 'scheduled').structure('wait'), -1), job.id)
    assert.equal(await redis.hget(bullmqKeys(prefix, 'scheduled').job(job.id!), 'timestamp'), String(job.timestamp))
    const [depth] = await readQueueDepths(redis, prefix, ['scheduled'])
    assert.equal(depth.counts.waiting, await queue.getWaitingCount())
    await queue.pause()
    assert.equal((await readQueueDepths(redis, prefix, ['scheduled']))[0].paused, true)
  })

  it("marks a job's hash with the finished field once it completes or fails for good, and not before", async () => {
    const done = await queue.add('t', { n: 1 })
    const failing = await queue.add('t', { n: 2 })
    const waiting = await queue.add('later', { n: 3 }, { delay: 3_600_000 })
    const finished = async (id: string) => (await redis.hexists(bullmqKeys(prefix, 'scheduled').job(id), BULLMQ_JOB_FINISHED_FIELD)) === 1
    assert.equal(await finished(done.id!), false)
    worker = new Worker(
      'scheduled',
      async (job) => {
        if (job.data.n === 2) throw new Error('for good')
      },
      { connection: (workerRedis = redis.duplicate()), prefix },
    )
    await waitFor(
      'both jobs finished',
      async () => [await done.isCompleted(), await failing.isFailed()],
      (states) => states.every(Boolean),
    )
    assert.deepEqual([await finished(done.id!), await finished(failing.id!), await finished(waiting.id!)], [true, true, false])
  })

  it('tells which jobs exist, as Queue#getJob does', async () => {
    const job = await queue.add('t', { n: 1 })
    assert.deepEqual(await jobsExist(redis, queue, [job.id!, 'no-such-job']), [true, false])
    assert.equal(await queue.getJob('no-such-job'), undefined)
  })

  it('reads each job’s data as Queue#getJob does, for many jobs at once', async () => {
    const job = await queue.add('t', { n: 1, name: 'é' })
    assert.deepEqual(await jobsData(redis, queue, [job.id!, 'no-such-job']), [JSON.stringify({ n: 1, name: 'é' }), null])
    assert.deepEqual((await queue.getJob(job.id!))?.data, { n: 1, name: 'é' })
  })

  it('reads the job each deduplication id names, as Queue#getDeduplicationJobId does, for many ids at once', async () => {
    const job = await queue.add('t', { n: 1 }, { deduplication: { id: 'chain-ids' } })
    assert.deepEqual(await deduplicationJobIds(redis, queue, ['chain-ids', 'no-such-chain']), [job.id!, null])
    assert.equal(await queue.getDeduplicationJobId('chain-ids'), job.id)
    assert.equal(await queue.getDeduplicationJobId('no-such-chain'), null)
  })

  it('sees and drops the successor BullMQ stores for an active deduplicated job, so none is queued when it finishes', async () => {
    const options = { deduplication: { id: 'chain-1', keepLastIfActive: true } }
    let release = (): void => undefined
    const started = new Promise<void>((resolve) => {
      worker = new Worker('scheduled', () => new Promise<void>((done) => ((release = done), resolve())), {
        connection: (workerRedis = redis.duplicate()),
        prefix,
      })
    })
    const first = await queue.add('t', { n: 1 }, options)
    assert.equal(await queue.getDeduplicationJobId('chain-1'), first.id)
    await started
    await queue.add('t', { n: 2 }, options)
    assert.equal(await redis.exists(queue.toKey('dn:chain-1')), 1, 'BullMQ stored the successor where the adapter looks')
    assert.equal(await hasDeduplicatedSuccessor(redis, queue, 'chain-1'), true)
    await dropDeduplicatedSuccessor(redis, queue, 'chain-1')
    assert.equal(await hasDeduplicatedSuccessor(redis, queue, 'chain-1'), false)
    const finished = new Promise((resolve) => worker!.once('completed', resolve))
    release()
    await finished
    assert.equal(await queue.getJobCountByTypes('waiting', 'delayed', 'active'), 0)
    await queue.removeDeduplicationKey('chain-1')
    assert.equal(await queue.getDeduplicationJobId('chain-1'), null)
  })

  it('starts a waiting job as soon as concurrency is raised, while the jobs holding every slot still run', async () => {
    const started: number[] = []
    let release = (): void => undefined
    const hanging = new Promise<void>((resolve) => (release = resolve))
    worker = new Worker<{ n: number }>(
      'scheduled',
      async (job) => {
        started.push(job.data.n)
        if (job.data.n < 2) await hanging
      },
      { connection: (workerRedis = redis.duplicate()), prefix, concurrency: 2 },
    )
    await queue.add('t', { n: 0 })
    await queue.add('t', { n: 1 })
    await waitFor(
      'both slots are held',
      async () => started.length,
      (n) => n === 2,
    )
    await queue.add('t', { n: 2 })
    setWorkerConcurrency(worker, 3)
    await waitFor(
      'the third job ran in the slot added',
      async () => started,
      (s) => s.includes(2),
    )
    assert.equal(await queue.getActiveCount(), 2, 'the first two still run')
    setWorkerConcurrency(worker, 2)
    release()
    await waitFor(
      'every job done',
      () => queue.getJobCountByTypes('waiting', 'active'),
      (n) => n === 0,
    )
  })
})
