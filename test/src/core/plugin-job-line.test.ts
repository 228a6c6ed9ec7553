import assert from 'node:assert/strict'
import { addPluginJob, createPluginJobsQueue, PluginJobData, pluginJobStarted, rankPluginJobAgain } from '@plugin-server/core'
import Redis from 'ioredis'
import { testQueuePrefix } from '../harness/databases'

describe('addPluginJob and rankPluginJobAgain (a team’s jobs rank behind its own)', () => {
  let redis: Redis
  before(() => (redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })))
  after(() => redis.disconnect())

  const data = (teamId: number, n: number): PluginJobData => ({ teamId, pluginConfigId: 1, name: 'j', payload: { n }, enqueuedAt: new Date().toISOString() })

  it('ranks a team’s jobs queued each sooner than the last behind one another, and another team’s first job first', async () => {
    const queuePrefix = testQueuePrefix()
    const queue = createPluginJobsQueue(redis, { queuePrefix })
    try {
      const priorities: (number | undefined)[] = []
      for (let n = 0; n < 5; n++) {
        const job = await addPluginJob(queue, redis, queuePrefix, data(1, n), { delay: (5 - n) * 1000, jobId: `a-${n}` })
        priorities.push(job.opts.priority || undefined)
      }
      assert.deepEqual(priorities, [undefined, 1, 2, 3, 4])
      const other = await addPluginJob(queue, redis, queuePrefix, data(2, 0), { delay: 0, jobId: 'b-0' })
      assert.equal(other.opts.priority || undefined, undefined)
      const nextWeek = await addPluginJob(queue, redis, queuePrefix, data(2, 1), { delay: 7 * 24 * 3600 * 1000, jobId: 'b-1' })
      const now = await addPluginJob(queue, redis, queuePrefix, data(2, 2), { delay: 0, jobId: 'b-2' })
      assert.equal(nextWeek.opts.priority, 1)
      assert.equal(now.opts.priority, 1, 'a job due next week does not hold back today’s')
      // Queued two hours out, each sooner than the last: ranked behind one another all the same.
      const later: (number | undefined)[] = []
      for (let n = 0; n < 5; n++) {
        const job = await addPluginJob(queue, redis, queuePrefix, data(3, n), { delay: 2 * 3600 * 1000 - n, jobId: `c-${n}` })
        later.push(job.opts.priority || undefined)
      }
      assert.deepEqual(later, [undefined, 1, 2, 3, 4])
    } finally {
      await queue.obliterate({ force: true })
      await queue.close()
    }
  })

  it('ranks a retried job again among its team’s jobs waiting: a chain of jobs each queued by the last and retried does not take the wait list', async () => {
    const queuePrefix = testQueuePrefix()
    const queue = createPluginJobsQueue(redis, { queuePrefix })
    try {
      // Each queued by the one before it, which had started (left its team's count): each counts none waiting.
      const chain = []
      for (let n = 0; n < 5; n++) {
        const job = await addPluginJob(queue, redis, queuePrefix, data(1, n), { delay: 0, jobId: `a-${n}` })
        assert.equal(job.opts.priority || undefined, undefined, `a-${n} queued first in line`)
        await pluginJobStarted(redis, queuePrefix, 1, job.id!)
        chain.push(job)
      }
      // Each throws RetryError: back in line behind the team's others.
      for (const job of chain) await rankPluginJobAgain(job, redis, queuePrefix, Date.now() + 1000)
      const ranks = await Promise.all(chain.map(async (job) => (await queue.getJob(job.id!))?.priority))
      assert.deepEqual(ranks, [0, 1, 2, 3, 4])
      const other = await addPluginJob(queue, redis, queuePrefix, data(2, 0), { delay: 0, jobId: 'b-0' })
      assert.equal(other.opts.priority || undefined, undefined, 'another team’s first job first')
    } finally {
      await queue.obliterate({ force: true })
      await queue.close()
    }
  })
})
