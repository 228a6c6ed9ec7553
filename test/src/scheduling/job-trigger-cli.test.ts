import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { schedulingConfig, startJobWorker, StartedJobWorker } from '@plugin-server/scheduling'
import { setConfigEnabled } from '@plugin-server/management'
import { startPluginRuntime } from '@plugin-server/plugin-runtime'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import { runCli } from '../harness/processes'
import { testRoleContext } from '../harness/role-context'
import { ranJobs } from './jobs-fixture'

const cli = (args: string[], env: Record<string, string>) => runCli(args, env)

describe('plugin-server job trigger <configId> <jobName> --payload <json> (CLI)', function () {
  this.timeout(60_000)
  let db: TestDatabase
  let ctx: ReturnType<typeof testRoleContext>
  let worker: StartedJobWorker

  before(async () => {
    db = await createTestDatabase()
  })
  after(async () => {
    for (const closer of worker?.closers ?? []) await closer.close()
    await ctx?.close()
    await db.drop()
  })

  it('enqueues a valid job for the job-workers and refuses invalid payloads, unknown jobs and disabled configs', async () => {
    const prefix = testQueuePrefix()
    const env = { DATABASE_URL: db.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' }
    const team = await createTeam(db.pool, 'cli')
    const management = managementContext(db.pool, prefix)
    const config = await enablePlugin(management, team.id, 'scheduling-jobs')
    ctx = testRoleContext('job-worker', env)
    worker = startJobWorker(ctx, await startPluginRuntime(ctx), schedulingConfig(ctx.config))

    const ok = await cli(['job', 'trigger', String(config.id), 'record', '--payload', '{"label":"by hand","count":2}'], env)
    assert.equal(ok.code, 0, ok.stderr)
    const printed = JSON.parse(ok.stdout) as { jobId: string; payload: Record<string, unknown> }
    assert.deepEqual(printed.payload, { label: 'by hand', count: 2, dryRun: false })
    const [job] = await eventually(
      'ran',
      () => ranJobs(db.pool, config.id),
      (jobs) => jobs.length === 1,
    )
    assert.deepEqual(job.payload, { label: 'by hand', count: 2, dryRun: false })

    const invalid = await cli(['job', 'trigger', String(config.id), 'record', '--payload', '{"count":"two"}'], env)
    assert.equal(invalid.code, 1)
    assert.match(invalid.stderr, /payload\.label is required \(string\)/)
    assert.match(invalid.stderr, /payload\.count must be a number, got "two"/)
    const unknown = await cli(['job', 'trigger', String(config.id), 'flaky'], env)
    assert.match(unknown.stderr, /has no public job "flaky" \(publicJobs: boom, record\)/)
    const notJson = await cli(['job', 'trigger', String(config.id), 'record', '--payload', '{label'], env)
    assert.match(notJson.stderr, /--payload is not valid JSON/)
    const missing = await cli(['job', 'trigger', '99999', 'record'], env)
    assert.match(missing.stderr, /plugin config 99999 not found/)
    await setConfigEnabled(management, config.id, false)
    const disabled = await cli(['job', 'trigger', String(config.id), 'record', '--payload', '{"label":"x"}'], env)
    assert.match(disabled.stderr, new RegExp(`plugin config ${config.id} is disabled: enable it first`))
    await management.close()
  })
})
