import assert from 'node:assert/strict'
import type { JobRunView } from '@plugin-server/plugin-runtime'
import Redis from 'ioredis'
import { eventually } from '../harness/fleet'
import { AdminFleet, startAdminFleet } from './admin-fleet'

const SECRET = 'sk_jobs_test_9a8b7c6d5e4f3a2b'

interface JobsView {
  public_jobs: Record<string, { payload?: Record<string, { type: string; required?: boolean }> }>
  public_job_order: string[]
  jobs: JobRunView[]
}

interface Triggered {
  jobId: string
  pluginConfigId: number
  teamId: number
  name: string
  payload: unknown
}

describe('jobs of a config: GET /api/configs/:id/jobs, POST /api/configs/:id/jobs/:name', function () {
  this.timeout(120_000)
  let f: AdminFleet
  let id: number
  const jobs = () => f.ok<JobsView>('GET', `/api/configs/${id}/jobs`)
  const trigger = (name: string, body: unknown) => f.call('POST', `/api/configs/${id}/jobs/${name}`, body, f.teamToken)
  const job = async (jobId: string, ok: (j: JobRunView) => boolean, what: string): Promise<JobRunView> =>
    (await eventually(
      what,
      async () => (await jobs()).jobs.find((j) => j.id === jobId),
      (j) => j !== undefined && ok(j),
    ))!

  before(async () => {
    // TIME_SCALE shortens RetryError backoff (5 s becomes 50 ms), not runIn delays.
    f = await startAdminFleet(['capture', 'job-worker'], {
      TIME_SCALE: '100',
      PLUGIN_TEAM_REDIS_LIMIT_MB: '1',
      PLUGIN_JOB_MAX_PAYLOAD_BYTES: String(3 * 1024 * 1024),
    })
    id = await f.enable('admin-jobs', { apiKey: SECRET })
  })
  after(() => f.close())

  it("lists the plugin's public jobs with their payload fields, and no runs yet", async () => {
    const view = await jobs()
    assert.deepEqual(Object.keys(view.public_jobs).sort(), ['chain', 'flaky', 'greet', 'leak'])
    assert.deepEqual(view.public_jobs.greet.payload, { name: { type: 'string', title: 'Name', required: true }, times: { type: 'number', default: 1 } })
    assert.deepEqual(view.jobs, [])
  })

  it('gives the public jobs in the order plugin.json declares them, and a version installed before that order was recorded in its stored order', async () => {
    // plugin.json declares greet, leak, chain, flaky; jsonb keeps keys shortest first (leak, chain, flaky, greet).
    const declared = await jobs()
    assert.deepEqual(declared.public_job_order, ['greet', 'leak', 'chain', 'flaky'])
    assert.deepEqual(Object.keys(declared.public_jobs), ['greet', 'leak', 'chain', 'flaky'], 'the object in that order too')

    const version = `SELECT v.plugin_id, v.version FROM plugin_versions v JOIN plugin_configs c ON c.plugin_id = v.plugin_id WHERE c.id = $1`
    await f.fleet.db.pool.query(`UPDATE plugin_versions SET public_job_order = NULL WHERE (plugin_id, version) IN (${version})`, [id])
    try {
      assert.deepEqual((await jobs()).public_job_order, ['leak', 'chain', 'flaky', 'greet'], 'no recorded order: the stored object order, as before')
    } finally {
      await f.fleet.db.pool.query(`UPDATE plugin_versions SET public_job_order = $2 WHERE (plugin_id, version) IN (${version})`, [
        id,
        declared.public_job_order,
      ])
    }
  })

  it('names the payload field a trigger gets wrong', async () => {
    const missing = await trigger('greet', { payload: {} })
    assert.equal(missing.status, 400, missing.text)
    assert.deepEqual(missing.json(), {
      error: { code: 'validation_error', message: 'job "greet" of plugin admin-jobs: payload.name is required (string)', field: 'payload.name' },
    })
    const wrongType = await trigger('greet', { payload: { name: 'Ada', times: 'twice' } })
    assert.equal(wrongType.status, 400, wrongType.text)
    assert.equal(wrongType.json<{ error: { field: string } }>().error.field, 'payload.times')
    const unknown = await trigger('nope', {})
    assert.equal(unknown.status, 400, unknown.text)
    assert.match(unknown.json<{ error: { message: string } }>().error.message, /has no public job "nope"/)
  })

  it('a triggered job shows up completed, with its payload, attempts, times and duration', async () => {
    const reply = await trigger('greet', { payload: { name: 'Ada' } })
    assert.equal(reply.status, 201, reply.text)
    const triggered = reply.json<Triggered>()
    assert.deepEqual(
      { ...triggered, jobId: undefined },
      { jobId: undefined, pluginConfigId: id, teamId: f.fleet.team.id, name: 'greet', payload: { name: 'Ada', times: 1 } },
    )
    const done = await job(triggered.jobId, (j) => j.state === 'completed', 'greet completed')
    assert.equal(done.name, 'greet')
    assert.deepEqual(done.payload, { name: 'Ada', times: 1 })
    assert.equal(done.attempts, 1)
    assert.equal(done.error, null)
    assert.ok(done.duration_ms !== null && done.duration_ms >= 20, `the job sleeps 20 ms: ${JSON.stringify(done)}`)
    const [enqueued, started, finished] = [done.enqueued_at, done.started_at, done.finished_at].map((t) => Date.parse(t ?? ''))
    assert.ok(enqueued <= started && started <= finished, JSON.stringify(done))
  })

  it('a failing job is failed, and its error never holds the secret', async () => {
    const { jobId } = (await trigger('leak', {})).json<Triggered>()
    const failed = await job(jobId, (j) => j.state === 'failed', 'leak failed')
    assert.match(failed.error ?? '', /upstream refused key \*\*\*/)
    assert.ok(!JSON.stringify(await jobs()).includes(SECRET), 'the job list holds the secret')
  })

  it('a RetryError is retried: completed on the second attempt, and what BullMQ kept of the first never holds the secret', async () => {
    const { jobId } = (await trigger('flaky', {})).json<Triggered>()
    const done = await job(jobId, (j) => j.state === 'completed', 'flaky completed')
    assert.equal(done.attempts, 2)
    const redis = new Redis(f.fleet.env.REDIS_URL)
    try {
      const hash = await redis.hgetall(`${f.fleet.env.QUEUE_PREFIX}:jobs:${jobId}`)
      assert.match(hash.stacktrace ?? '', /not yet for key \*\*\*/, 'the first attempt’s error is kept, redacted')
      assert.ok(!JSON.stringify(hash).includes(SECRET), 'the job’s hash holds the secret')
    } finally {
      redis.disconnect()
    }
  })

  it('jobs the plugin enqueues with meta.jobs are listed too: run now, and queued for later', async () => {
    await trigger('chain', {})
    const listed = await eventually(
      'the jobs chain enqueued',
      async () => (await jobs()).jobs.filter((j) => j.name === 'greet' && (j.payload as { name: string }).name !== 'Ada'),
      (found) => found.length === 2 && found.some((j) => j.state === 'completed'),
    )
    const now = listed.find((j) => j.state === 'completed')!
    assert.deepEqual(now.payload, { name: 'from chain', times: 2 })
    const later = listed.find((j) => j.state !== 'completed')!
    assert.deepEqual(
      { state: later.state, payload: later.payload, started_at: later.started_at },
      { state: 'queued', payload: { name: 'later', times: 3 }, started_at: null },
    )
    const all = (await jobs()).jobs
    const times = all.map((j) => Date.parse(j.enqueued_at ?? ''))
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    )
    assert.equal((await f.ok<JobsView>('GET', `/api/configs/${id}/jobs?limit=2`)).jobs.length, 2)
    assert.equal((await f.call('GET', `/api/configs/${id}/jobs?limit=0`)).status, 400)
  })

  it("holds a triggered job in the team's Redis account: a payload past PLUGIN_TEAM_REDIS_LIMIT_MB is 409 naming it, and nothing is queued", async () => {
    const before = (await jobs()).jobs.length
    const refused = await trigger('greet', { payload: { name: 'x'.repeat(2 * 1024 * 1024) } })
    assert.equal(refused.status, 409, refused.text.slice(0, 500))
    assert.match(
      refused.json<{ error: { message: string } }>().error.message,
      /^jobs\.greet refused: team \d+'s plugins hold .* over PLUGIN_TEAM_REDIS_LIMIT_MB \(1(\.0)? ?MB\)/,
    )
    assert.equal((await jobs()).jobs.length, before)
  })

  it("refuses a triggered job's payload past PLUGIN_JOB_MAX_PAYLOAD_BYTES with 400 naming it and the field, as a plugin's own meta.jobs are, and queues nothing", async () => {
    const before = (await jobs()).jobs.length
    const refused = await trigger('greet', { payload: { name: 'x'.repeat(3 * 1024 * 1024) } })
    assert.equal(refused.status, 400, refused.text.slice(0, 500))
    const { error } = refused.json<{ error: { message: string; field?: string } }>()
    assert.equal(error.field, 'payload')
    // As queued: with the default publicJobs gives it (times: 1).
    const bytes = Buffer.byteLength(JSON.stringify({ name: 'x'.repeat(3 * 1024 * 1024), times: 1 }))
    assert.equal(error.message, `the payload of job "greet" is ${bytes} bytes, more than the ${3 * 1024 * 1024} a job may carry (PLUGIN_JOB_MAX_PAYLOAD_BYTES)`)
    assert.equal((await jobs()).jobs.length, before)
  })

  it("is 403 for another team's token", async () => {
    await f.assertOtherTeamForbidden([
      ['GET', `/api/configs/${id}/jobs`],
      ['POST', `/api/configs/${id}/jobs/greet`, { payload: { name: 'x' } }],
    ])
  })
})
