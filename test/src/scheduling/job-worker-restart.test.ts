import assert from 'node:assert/strict'
import { createPluginJobsQueue } from '@plugin-server/core'
import { createTeam } from '@plugin-server/db'
import { LocalServer, startRedisServer } from '@plugin-server/dev-services'
import Redis from 'ioredis'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import { FleetProcess, startRole } from '../harness/processes'
import { ranJobs } from './jobs-fixture'
import { sleep } from './scheduling-fixture'

describe('job-worker: a job survives a full restart of Redis (AOF) and of every worker (child processes)', function () {
  this.timeout(120_000)
  let db: TestDatabase
  let redisServer: LocalServer
  let workers: FleetProcess[] = []

  before(async () => {
    db = await createTestDatabase()
    redisServer = await startRedisServer({ appendOnly: true })
  })
  after(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')))
    await redisServer.stop()
    await db.drop()
  })

  it('runs a runIn job enqueued before Redis and all job-workers restarted', async () => {
    const prefix = testQueuePrefix()
    const env = { REDIS_URL: redisServer.url, DATABASE_URL: db.url, QUEUE_PREFIX: prefix }
    const team = await createTeam(db.pool, 'restart')
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null })
    redis.on('error', () => undefined)
    const defaultManagement = managementContext(db.pool, prefix)
    await defaultManagement.close()
    const config = await enablePlugin({ ...defaultManagement, redis }, team.id, 'scheduling-jobs')
    workers = await Promise.all([startRole('job-worker', env), startRole('job-worker', env)])
    // The plugin itself enqueues the job (meta.jobs.record(…).runIn(4, 'seconds')) from a job run by a worker.
    const queue = createPluginJobsQueue(redis, { queuePrefix: prefix })
    await queue.add('schedule', {
      teamId: team.id,
      pluginConfigId: config.id,
      name: 'schedule',
      payload: { kind: 'in', value: 4, unit: 'seconds', label: 'durable' },
      enqueuedAt: new Date().toISOString(),
    })
    await eventually(
      'scheduled',
      () => queue.getDelayedCount(),
      (n) => n === 1,
    )
    await queue.close()
    redis.disconnect()

    await Promise.all(workers.map((w) => w.kill('SIGKILL')))
    await sleep(1000) // let appendfsync everysec write the AOF as it would in production
    await redisServer.restart()
    workers = await Promise.all([startRole('job-worker', env), startRole('job-worker', env)])

    const jobs = await eventually(
      'ran',
      () => ranJobs(db.pool, config.id),
      (all) => all.some((j) => j.name === 'record'),
      30_000,
    )
    await sleep(1000)
    assert.deepEqual(
      (await ranJobs(db.pool, config.id)).filter((j) => j.name === 'record').map((j) => j.payload.label),
      ['durable'],
    )
    assert.ok(jobs.length >= 1)
  })
})
