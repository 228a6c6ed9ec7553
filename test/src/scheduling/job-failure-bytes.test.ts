import assert from 'node:assert/strict'
import { createPluginJobsQueue, PluginJobData, redisKeys } from '@plugin-server/core'
import { createTeam } from '@plugin-server/db'
import { startPluginRuntime } from '@plugin-server/plugin-runtime'
import { schedulingConfig, startJobWorker, StartedJobWorker } from '@plugin-server/scheduling'
import type { Queue } from 'bullmq'
import Redis from 'ioredis'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'

// 5 000 euro signs: 15 000 bytes of UTF-8 in 5 000 characters, in the message and again in the stack.
const FAILER = `
import { RetryError } from '@posthog/plugin-scaffold'
const text = '\\u20ac'.repeat(5000)
export const jobs = {
  spawn: async ({ job }, meta) => { await meta.jobs[job]({}).runNow() },
  retry: async () => { throw new RetryError(text) },
  fail: async () => { throw new Error(text) },
}
`

describe("a failed plugin job's bytes in Redis", function () {
  this.timeout(60_000)
  let db: TestDatabase
  let redis: Redis
  let queue: Queue<PluginJobData>
  let management: ReturnType<typeof managementContext>
  let ctx: ReturnType<typeof testRoleContext>
  let worker: StartedJobWorker

  afterEach(async () => {
    for (const closer of worker.closers) await closer.close()
    await ctx.close()
    await queue.close()
    redis.disconnect()
    await management.close()
    await db.drop()
  })

  it("stay within what the team's account holds for the job, after 11 attempts failing with a long multi-byte message, and after one", async () => {
    db = await createTestDatabase()
    const prefix = testQueuePrefix()
    redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
    queue = createPluginJobsQueue(redis, { queuePrefix: prefix })
    management = managementContext(db.pool, prefix)
    const team = await createTeam(db.pool, 'failing')
    const config = await enablePlugin(management, team.id, writePlugin('failer', FAILER))
    ctx = testRoleContext('job-worker', { DATABASE_URL: db.url, QUEUE_PREFIX: prefix, TIME_SCALE: '5000' })
    worker = startJobWorker(ctx, await startPluginRuntime(ctx), schedulingConfig(ctx.config))
    for (const job of ['retry', 'fail'])
      await queue.add('spawn', { teamId: team.id, pluginConfigId: config.id, name: 'spawn', payload: { job }, enqueuedAt: new Date().toISOString() })
    const failed = await eventually(
      'both failed',
      () => queue.getFailed(),
      (jobs) => jobs.length === 2,
      30_000,
    )
    const sizes = redisKeys(prefix).pluginRedisAccount(team.id).sizes
    for (const job of failed) {
      const key = queue.toKey(job.id!)
      const fields = await redis.hgetallBuffer(key)
      const stored = Object.entries(fields).reduce((n, [field, value]) => n + Buffer.byteLength(field) + value.length, 0)
      const held = Number(await redis.hget(sizes, key))
      assert.equal(job.attemptsMade, job.name === 'retry' ? 11 : 1)
      assert.ok(stored <= held, `${job.name}: ${stored} bytes stored, the account holds ${held}`)
    }
  })
})
