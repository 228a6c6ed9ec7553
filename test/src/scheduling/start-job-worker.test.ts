import assert from 'node:assert/strict'
import { addPluginJob, createPluginJobsQueue, PluginJobData } from '@plugin-server/core'
import { createTeam, Team } from '@plugin-server/db'
import { deleteConfig, PluginConfigView, setAttachment, setConfigEnabled } from '@plugin-server/management'
import { startPluginRuntime } from '@plugin-server/plugin-runtime'
import { jobRetryDelayMs, schedulingConfig, startJobWorker, StartedJobWorker } from '@plugin-server/scheduling'
import type { Queue } from 'bullmq'
import Redis from 'ioredis'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'
import { endWaitingQuery, lockTable } from '../harness/table-lock'
import { ranJobs } from './jobs-fixture'
import { pluginLogMessages, sleep } from './scheduling-fixture'

const UNIT_MS: Record<string, number> = {
  millisecond: 1,
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
  month: 30 * 86_400_000,
  quarter: 91 * 86_400_000,
  year: 365 * 86_400_000,
}

/** How the job worker's read of a job's config starts (libs/db findPluginConfigPlugin): ended, it fails as in an outage. */
const CONFIG_STATUS_READ = 'SELECT c.team_id, c.enabled, c.plugin_id, p.name FROM plugin_configs c'

describe('startJobWorker (meta.jobs runNow / runAt / runIn, RetryError)', function () {
  this.timeout(60_000)
  let db: TestDatabase
  let team: Team
  let prefix: string
  let redis: Redis
  let queue: Queue<PluginJobData>
  let management: ReturnType<typeof managementContext>
  let contexts: ReturnType<typeof testRoleContext>[]
  let workers: StartedJobWorker[]
  let config: PluginConfigView

  beforeEach(async () => {
    db = await createTestDatabase()
    team = await createTeam(db.pool, 'jobs')
    prefix = testQueuePrefix()
    redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
    queue = createPluginJobsQueue(redis, { queuePrefix: prefix })
    management = managementContext(db.pool, prefix)
    contexts = []
    workers = []
    config = await enablePlugin(management, team.id, 'scheduling-jobs')
  })
  afterEach(async () => {
    for (const worker of workers) for (const closer of worker.closers) await closer.close()
    for (const ctx of contexts) await ctx.close()
    await queue.close()
    redis.disconnect()
    await management.close()
    await db.drop()
  })

  const start = async (env: Record<string, string> = {}) => {
    const all = { DATABASE_URL: db.url, QUEUE_PREFIX: prefix, TIME_SCALE: '100', ...env }
    const ctx = testRoleContext('job-worker', all)
    contexts.push(ctx)
    const worker = startJobWorker(ctx, await startPluginRuntime(ctx), schedulingConfig(ctx.config))
    workers.push(worker)
    return worker
  }
  /** What `meta.jobs.<name>(payload).runNow()` adds (libs/plugin-runtime create-host). */
  const enqueue = (name: string, payload: unknown, delay = 0) =>
    queue.add(name, { teamId: team.id, pluginConfigId: config.id, name, payload, enqueuedAt: new Date().toISOString() }, { delay })
  const ran = (name?: string) => ranJobs(db.pool, config.id).then((jobs) => jobs.filter((j) => !name || j.name === name))
  const logs = () => pluginLogMessages(db.pool, config.id)

  it('runs a job a plugin enqueued with runNow right away', async () => {
    await start()
    const sent = Date.now()
    await enqueue('schedule', { kind: 'now', label: 'now' })
    const [job] = await eventually(
      'ran',
      () => ran('record'),
      (jobs) => jobs.length === 1,
    )
    assert.equal(job.payload.label, 'now')
    assert.ok(job.at - sent < 1000, `ran ${job.at - sent} ms after it was sent`)
  })

  it('runs a runAt job once, within a second of its time', async () => {
    await start()
    const at = Date.now() + 1500
    await enqueue('schedule', { kind: 'at', at, label: 'at' })
    const [job] = await eventually(
      'ran',
      () => ran('record'),
      (jobs) => jobs.length === 1,
      5000,
    )
    assert.ok(job.at >= at && job.at - at <= 1000, `ran ${job.at - at} ms after its time`)
    await sleep(1500)
    assert.equal((await ran('record')).length, 1)
  })

  it('accepts every runIn unit word, singular and plural, and runs the short ones on time', async () => {
    await start()
    const units = Object.keys(UNIT_MS).flatMap((unit) => [unit, `${unit}s`])
    const sent = Date.now()
    for (const unit of units) await enqueue('schedule', { kind: 'in', value: unit.startsWith('millisecond') ? 700 : 1, unit, label: unit })
    const long = units.filter((u) => !/^(millisecond|second)s?$/.test(u))
    // The short ones may still be delayed too, so count the long ones by label, not all delayed jobs.
    const delayedLabels = (jobs: Awaited<ReturnType<typeof queue.getDelayed>>) =>
      new Set(jobs.filter((j) => j.name === 'record').map((j) => (j.data.payload as { label: string }).label))
    const delayed = await eventually(
      'all long ones scheduled',
      () => queue.getDelayed(),
      (jobs) => long.every((unit) => delayedLabels(jobs).has(unit)),
      10_000,
    )
    for (const unit of long) {
      const job = delayed.find((j) => (j.data.payload as { label: string }).label === unit)
      assert.ok(job, `no delayed job for runIn(1, '${unit}')`)
      const expected = UNIT_MS[unit.replace(/s$/, '')]
      const due = job.timestamp + (job.opts.delay ?? 0)
      assert.ok(Math.abs(due - (sent + expected)) < 5000, `runIn(1, '${unit}') is due ${due - sent} ms after it was sent, expected ${expected}`)
    }
    const short = await eventually(
      'short ones ran',
      () => ran('record'),
      (jobs) => jobs.length === 4,
      5000,
    )
    for (const job of short) {
      const expected = String(job.payload.label).startsWith('millisecond') ? 700 : 1000
      assert.ok(job.at - sent >= expected && job.at - sent <= expected + 1000, `runIn(…, '${String(job.payload.label)}') ran after ${job.at - sent} ms`)
    }
    await enqueue('schedule', { kind: 'in', value: 1, unit: 'fortnight', label: 'bad' })
    const messages = await eventually('unknown unit logged', logs, (m) => m.some((l) => l.includes('fortnight')))
    assert.ok(
      messages.some((l) => l.includes('unknown unit "fortnight"')),
      messages.join('\n'),
    )
  })

  it('retries a job that throws RetryError with exponential backoff until it succeeds', async () => {
    await start()
    await enqueue('flaky', { label: 'a', failures: 2 })
    const attempts = await eventually(
      'three attempts',
      () => ran('flaky'),
      (jobs) => jobs.length === 3,
      10_000,
    )
    assert.deepEqual(
      attempts.map((j) => j.payload.attempt),
      [1, 2, 3],
    )
    assert.ok(attempts[1].at - attempts[0].at >= jobRetryDelayMs(1, 100), 'first retry waited its backoff')
    assert.ok(attempts[2].at - attempts[1].at >= jobRetryDelayMs(2, 100), 'second retry waited twice as long')
    const messages = await eventually('retries logged', logs, (m) => m.filter((l) => l.includes('RetryError')).length === 2)
    assert.ok(
      messages.some((l) => l.includes('failed with RetryError (attempt 1 of 11), retrying in 0.05 s')),
      messages.join('\n'),
    )
    await sleep(300)
    assert.equal((await ran('flaky')).length, 3)
  })

  it("ranks a job retried with RetryError again behind its team's jobs waiting, instead of keeping the rank it was queued with", async () => {
    const job = (label: string, failures = 0): PluginJobData => ({
      teamId: team.id,
      pluginConfigId: config.id,
      name: 'flaky',
      payload: { label, failures },
      enqueuedAt: new Date().toISOString(),
    })
    // Queued first in line, then three more of the team's jobs due within the hour, ranked behind it.
    const retried = await addPluginJob(queue, redis, prefix, job('r', 1000), { delay: 0, jobId: 'retried' })
    assert.equal(retried.opts.priority || 0, 0)
    for (let n = 0; n < 3; n++) await addPluginJob(queue, redis, prefix, job(`later-${n}`), { delay: 30 * 60 * 1000, jobId: `later-${n}` })
    await start()
    await eventually(
      'two attempts',
      () => ran('flaky'),
      (jobs) => jobs.length >= 2,
      10_000,
    )
    // Each of its retries waits again: behind the three, as a job queued now would.
    assert.equal((await queue.getJob('retried'))?.priority, 3)
  })

  it('gives up after 11 attempts (10 retries) of RetryError and logs it', async () => {
    await start({ TIME_SCALE: '2000' })
    const job = await enqueue('flaky', { label: 'b', failures: 1000 })
    await eventually('gave up', logs, (m) => m.some((l) => l.includes('giving up')), 15_000)
    assert.equal((await ran('flaky')).length, 11)
    assert.equal(await queue.getJobState(job.id!), 'failed')
  })

  it('fails a job that throws another error without retrying, with a plugin log line', async () => {
    await start()
    const job = await enqueue('boom', {})
    await eventually(
      'failed',
      () => queue.getJobState(job.id!),
      (state) => state === 'failed',
    )
    assert.equal((await ran('boom')).length, 1)
    const messages = await eventually('logged', logs, (m) => m.some((l) => l.includes('boom: this job always fails')))
    assert.ok(
      messages.some((l) => l.includes('job boom failed: Error: boom: this job always fails') || l.includes('boom failed')),
      messages.join('\n'),
    )
  })

  it("puts a job back without using the plugin's attempts while Postgres fails reading its config, and runs it once when it answers", async () => {
    await start()
    const lock = await lockTable(db.pool, 'plugins')
    try {
      const job = await enqueue('record', { label: 'outage' })
      // Each read of the job's config waits on the lock, and fails as in an outage when ended.
      for (let failures = 0; failures < 3; failures++) await endWaitingQuery(db.pool, CONFIG_STATUS_READ)
      await lock.release()
      await eventually(
        'ran',
        () => queue.getJobState(job.id!),
        (state) => state === 'completed',
      )
      // BullMQ counts the run that completed the job among its attempts.
      assert.equal((await queue.getJob(job.id!))?.attemptsMade, 1, 'no attempt of the plugin was spent on the outage')
      assert.equal((await ran('record')).length, 1)
      assert.ok(!(await logs()).some((l) => l.includes('failed')), (await logs()).join('\n'))
    } finally {
      await lock.release()
    }
  })

  it('puts back a job queued two days before it runs (runIn) at the first run the server fails, counting from that run', async () => {
    await start()
    const lock = await lockTable(db.pool, 'plugins')
    try {
      const job = await queue.add(
        'record',
        { teamId: team.id, pluginConfigId: config.id, name: 'record', payload: { label: 'runIn' }, enqueuedAt: new Date().toISOString() },
        { timestamp: Date.now() - 2 * 86_400_000 },
      )
      await endWaitingQuery(db.pool, CONFIG_STATUS_READ)
      await lock.release()
      await eventually(
        'ran',
        () => queue.getJobState(job.id!),
        (state) => state === 'completed',
      )
      assert.equal((await ran('record')).length, 1)
    } finally {
      await lock.release()
    }
  })

  it('fails a job for good, naming why, once the server has failed its runs for 24 h', async () => {
    await start()
    const lock = await lockTable(db.pool, 'plugins')
    try {
      // As the job worker left it after putting it back for 24 h and a minute (TIME_SCALE 100: under 15 minutes).
      const job = await queue.add('record', {
        ...{ teamId: team.id, pluginConfigId: config.id, name: 'record', payload: { label: 'old' }, enqueuedAt: new Date().toISOString() },
        ...{ serverPutBacks: 40, serverFailingSince: Date.now() - 24 * 3_600_000 - 60_000, serverFailingAttempts: 0 },
      })
      await endWaitingQuery(db.pool, CONFIG_STATUS_READ)
      await eventually(
        'failed',
        () => queue.getJobState(job.id!),
        (state) => state === 'failed',
      )
      assert.match(
        String((await queue.getJob(job.id!))?.failedReason),
        /^job "record" failed: the server could not run it for 24 h \(40 times put back\): its config could not be read: terminating connection/,
      )
    } finally {
      await lock.release()
    }
    assert.equal((await ran('record')).length, 0)
  })

  it('puts a job back, not failing it for good, when Postgres fails reading the attachments of its config loaded again after an eviction', async () => {
    // Room for one isolate: a job of the other config evicts this one, loaded again under the next job.
    await start({ PLUGIN_MAX_LIVE_INSTANCES: '1' })
    const withFile = await enablePlugin(
      management,
      team.id,
      writePlugin(
        'jobs-with-file',
        `export const jobs = { note: async (payload, { attachments, storage }) => storage.set('note-' + payload.n, attachments.list.contents.toString()) }`,
        [{ key: 'list', type: 'attachment' }],
      ),
    )
    await setAttachment(management, withFile.id, { key: 'list', file_name: 'list.txt', content_type: 'text/plain', contents: Buffer.from('listed') })
    const note = (n: number) =>
      queue.add('note', { teamId: team.id, pluginConfigId: withFile.id, name: 'note', payload: { n }, enqueuedAt: new Date().toISOString() })
    const completed = (id: string) =>
      eventually(
        `job ${id} completed`,
        () => queue.getJobState(id),
        (state) => state === 'completed',
      )
    await completed((await note(1)).id!)
    await completed((await enqueue('record', { label: 'evicts' })).id!)

    const lock = await lockTable(db.pool, 'plugin_attachments')
    try {
      const job = await note(2)
      await endWaitingQuery(db.pool, 'SELECT key, content_type, file_name, contents FROM plugin_attachments')
      await lock.release()
      await completed(job.id!)
      const { rows } = await db.pool.query("SELECT value FROM plugin_storage WHERE plugin_config_id = $1 AND key = 'note-2'", [withFile.id])
      assert.equal(rows[0]?.value, 'listed')
      assert.equal((await queue.getJob(job.id!))?.attemptsMade, 1)
    } finally {
      await lock.release()
    }
  })

  it('drops the jobs of a disabled or deleted config with a log line', async () => {
    const [worker] = [await start()]
    await setConfigEnabled(management, config.id, false)
    const disabledJob = await enqueue('record', { label: 'disabled' })
    await eventually(
      'dropped',
      () => queue.getJobState(disabledJob.id!),
      (state) => state === 'completed',
    )
    const messages = await eventually('logged', logs, (m) => m.some((l) => l.includes('dropped')))
    assert.ok(messages.includes(`job "record" dropped: plugin config ${config.id} is disabled`), messages.join('\n'))
    await deleteConfig(management, config.id)
    const deletedJob = await enqueue('record', { label: 'deleted' })
    await eventually(
      'dropped',
      () => queue.getJobState(deletedJob.id!),
      (state) => state === 'completed',
    )
    assert.equal((await ran()).length, 0)
    assert.ok(worker.worker.isRunning())
  })

  it('shares the queue between several job-worker replicas, each job running once', async () => {
    const replicas = [await start({ JOB_WORKER_CONCURRENCY: '2' }), await start({ JOB_WORKER_CONCURRENCY: '2' })]
    const processed = replicas.map(() => 0)
    replicas.forEach((r, i) => r.worker.on('completed', () => processed[i]++))
    await Promise.all(Array.from({ length: 30 }, (_, i) => enqueue('record', { label: `job-${i}` })))
    const jobs = await eventually(
      'all ran',
      () => ran('record'),
      (all) => all.length >= 30,
      20_000,
    )
    assert.equal(new Set(jobs.map((j) => j.payload.label)).size, 30)
    assert.equal(jobs.length, 30)
    assert.ok(
      processed.every((n) => n > 0),
      `jobs per replica: ${processed.join(', ')}`,
    )
  })

  it("runs another team's job while one team's slow jobs wait for their team's share of the slots (JOB_WORKER_TEAM_CONCURRENCY)", async () => {
    const slowTeam = await createTeam(db.pool, 'slow jobs')
    const slow = await enablePlugin(
      management,
      slowTeam.id,
      writePlugin(
        'slow-jobs',
        `export const jobs = {
          slow: async (payload, meta) => {
            await new Promise((resolve) => setTimeout(resolve, 3000))
            await meta.storage.set('done-' + payload.n, Date.now())
          },
        }`,
      ),
    )
    await start({ JOB_WORKER_CONCURRENCY: '2', JOB_WORKER_TEAM_CONCURRENCY: '1' })
    for (let n = 0; n < 3; n++) {
      await queue.add('slow', { teamId: slowTeam.id, pluginConfigId: slow.id, name: 'slow', payload: { n }, enqueuedAt: new Date().toISOString() })
    }
    await enqueue('record', { label: 'other team' })
    const [other] = await eventually(
      "the other team's job ran",
      () => ran('record'),
      (jobs) => jobs.length === 1,
    )
    const done = await eventually(
      'the slow jobs finished',
      async () =>
        (await db.pool.query<{ value: number }>(`SELECT value FROM plugin_storage WHERE plugin_config_id = $1`, [slow.id])).rows.map((r) => Number(r.value)),
      (times) => times.length === 3,
      30_000,
    )
    // Without the team's bound its first two slow jobs would hold both slots for 3 s.
    assert.ok(other.at < Math.min(...done), `the other team's job ran ${other.at - Math.min(...done)} ms after the first slow job finished`)
    const finished = done.sort((a, b) => a - b)
    assert.ok(finished[1] - finished[0] >= 2500 && finished[2] - finished[1] >= 2500, `one slow job at a time: ${finished.join(', ')}`)
  })

  it("puts a busy team's waiting job back for longer each time it is turned away (500 ms, then doubling), not every half second", async () => {
    const busyTeam = await createTeam(db.pool, 'busy jobs')
    const busy = await enablePlugin(
      management,
      busyTeam.id,
      writePlugin(
        'busy-jobs',
        `export const jobs = { hold: async () => { await new Promise((resolve) => setTimeout(resolve, 5000)) }, quick: async () => {} }`,
      ),
    )
    await start({ JOB_WORKER_CONCURRENCY: '2', JOB_WORKER_TEAM_CONCURRENCY: '1' })
    const data = (name: string) => ({ teamId: busyTeam.id, pluginConfigId: busy.id, name, payload: {}, enqueuedAt: new Date().toISOString() })
    await queue.add('hold', data('hold'))
    await eventually(
      'the team holds its one slot',
      () => queue.getActiveCount(),
      (n) => n === 1,
    )
    const waiting = await queue.add('quick', data('quick'))
    const delays: number[] = []
    await eventually(
      'turned away three times',
      async () => {
        const delay = (await queue.getJob(waiting.id!))?.delay ?? 0
        if (delay > 0 && delay !== delays[delays.length - 1]) delays.push(delay)
        return delays
      },
      (seen) => seen.length >= 3,
    )
    // Give or take a quarter each: 375–625, 750–1250, 1500–2500 ms.
    assert.ok(
      delays[0] >= 375 && delays[0] <= 625 && delays[1] >= 750 && delays[1] <= 1250 && delays[2] >= 1500 && delays[2] <= 2500,
      `delays ${delays.join(', ')} ms`,
    )
  })

  it("runs a third team's job while two teams' jobs hang, each team holding its JOB_WORKER_TEAM_CONCURRENCY share of the slots", async () => {
    const hanging: { team: Team; config: PluginConfigView }[] = []
    for (const name of ['hang-a', 'hang-b']) {
      const hangTeam = await createTeam(db.pool, name)
      const plugin = writePlugin(
        name,
        `export const jobs = {
          hang: async (payload, meta) => {
            await new Promise((resolve) => setTimeout(resolve, 8000))
            await meta.storage.set('done', Date.now())
          },
        }`,
      )
      hanging.push({ team: hangTeam, config: await enablePlugin(management, hangTeam.id, plugin) })
    }
    const worker = await start({ JOB_WORKER_CONCURRENCY: '2', JOB_WORKER_TEAM_CONCURRENCY: '1', JOB_WORKER_STUCK_AFTER_MS: '200' })
    for (const { team: hangTeam, config: hang } of hanging) {
      await queue.add('hang', { teamId: hangTeam.id, pluginConfigId: hang.id, name: 'hang', payload: {}, enqueuedAt: new Date().toISOString() })
    }
    await eventually(
      'the two hanging jobs hold both slots',
      async () => (await queue.getActive()).length,
      (n) => n === 2,
    )
    const sent = Date.now()
    await enqueue('record', { label: 'third team' })
    const [other] = await eventually(
      "the third team's job ran",
      () => ran('record'),
      (jobs) => jobs.length === 1,
    )
    const done = await eventually(
      'the hanging jobs finished',
      async () =>
        (
          await db.pool.query<{ value: number }>(`SELECT value FROM plugin_storage WHERE plugin_config_id = ANY($1)`, [hanging.map((h) => h.config.id)])
        ).rows.map((r) => Number(r.value)),
      (times) => times.length === 2,
    )
    assert.ok(
      other.at < Math.min(...done),
      `the third team's job ran ${other.at - sent} ms after it was sent, ${other.at - Math.min(...done)} ms after the first hanging job ended`,
    )
    // Their storage write comes before the jobs end, and the slots are given back only when they have.
    await eventually(
      'the extra slots are given back once the hanging jobs end',
      async () => worker.worker.concurrency,
      (n) => n === 2,
    )
  })

  it("runs another team's job within a second while one team's flood of thousands of jobs waits for its share (each team's next job first)", async () => {
    const floodTeam = await createTeam(db.pool, 'flooding jobs')
    const flooding = await enablePlugin(
      management,
      floodTeam.id,
      writePlugin(
        'flood-jobs',
        `export const jobs = {
          flood: async ({ count }, meta) => {
            for (let n = 0; n < count; n++) await meta.jobs.hold({ n }).runNow()
            await meta.storage.set('flooded', true)
          },
          hold: async () => {
            await new Promise((resolve) => setTimeout(resolve, 2000))
          },
        }`,
      ),
    )
    // One slot is the flooding team's; the other is left for every other team.
    await start({ JOB_WORKER_CONCURRENCY: '2', JOB_WORKER_TEAM_CONCURRENCY: '1' })
    const count = 8000
    await queue.add('flood', { teamId: floodTeam.id, pluginConfigId: flooding.id, name: 'flood', payload: { count }, enqueuedAt: new Date().toISOString() })
    await eventually(
      'the flood was queued',
      async () => (await db.pool.query(`SELECT 1 FROM plugin_storage WHERE plugin_config_id = $1 AND key = 'flooded'`, [flooding.id])).rowCount,
      (rows) => rows === 1,
      60_000,
    )
    // Enqueued by the other team's plugin (meta.jobs, as the flood's were).
    const sent = Date.now()
    await enqueue('schedule', { kind: 'now', label: 'behind the flood' })
    const [job] = await eventually(
      "the other team's job ran",
      () => ran('record'),
      (jobs) => jobs.length === 1,
      30_000,
    )
    // The flood takes count × 2 s to drain; in one FIFO list this job waited for the free slot to go past all of it.
    assert.ok(job.at - sent < 1000, `the other team's job ran ${job.at - sent} ms after it was sent, behind a flood of ${count} jobs`)
  })
})
