import assert from 'node:assert/strict'
import type { ConfigStatusView } from '@plugin-server/admin-api'
import { eventually } from '../harness/fleet'
import { AdminFleet, sendEvents, startAdminFleet } from './admin-fleet'

const SECRET = 'sk_status_test_1f2e3d4c5b6a7988'

describe('GET /api/configs/:id/status', function () {
  this.timeout(120_000)
  let f: AdminFleet
  let retrying: number
  let recorder: number
  let thrower: number
  const status = (id: number, token?: string) => f.ok<ConfigStatusView>('GET', `/api/configs/${id}/status`, undefined, 200, token)

  before(async () => {
    // TIME_SCALE 60: the recorder's runEveryMinute runs every second. Setup retries only happen when a
    // worker needs the config (an event for its team, then reloads), so `retrying` lasts.
    f = await startAdminFleet(['capture', 'scheduler', 'ingest-worker'], { TIME_SCALE: '60', PLUGIN_SETUP_MAX_ATTEMPTS: '100' })
    retrying = await f.enable('admin-setup-retry', { apiKey: SECRET })
    recorder = await f.enable('scheduling-recorder', { durationMs: '30' })
    thrower = await f.enable('security-secret-user', { apiKey: SECRET })
  })
  after(() => f.close())

  it('shows the fleet-wide setup state: retrying, with attempts, the next attempt and the redacted error', async () => {
    // Only the roles that run a config's methods set it up: an event for the team makes the ingest worker load it.
    await sendEvents(f.fleet, [{ event: 'wake up' }])
    const { setup, config } = await eventually(
      'setup retrying',
      () => status(retrying),
      (s) => s.setup.status === 'retrying',
    )
    assert.equal(config.id, retrying)
    assert.ok(setup.attempts >= 1, JSON.stringify(setup))
    assert.ok(setup.next_attempt_at !== null && !Number.isNaN(Date.parse(setup.next_attempt_at)), JSON.stringify(setup))
    assert.ok(setup.updated_at !== null && Date.now() - Date.parse(setup.updated_at) < 60_000, JSON.stringify(setup))
    assert.match(setup.last_error ?? '', /service not ready for key \*\*\*/)
    const ready = await eventually(
      'recorder set up',
      () => status(recorder),
      (s) => s.setup.status === 'ready',
    )
    assert.equal(ready.setup.last_error, null)
  })

  it('lists scheduled tasks with their next run and the last runs, durations and outcomes', async () => {
    const { scheduled } = await eventually(
      'a few recorded runs and a next run',
      () => status(recorder),
      (s) => s.scheduled.length === 1 && s.scheduled[0].last_runs.length >= 2 && s.scheduled[0].next_run_at !== null,
    )
    const [task] = scheduled
    assert.equal(task.task, 'runEveryMinute')
    assert.ok(Math.abs(Date.parse(task.next_run_at!) - Date.now()) < 10_000, `next run ${task.next_run_at}`)
    for (const run of task.last_runs) {
      assert.equal(run.outcome, 'ok', JSON.stringify(run))
      assert.ok(run.duration_ms >= 30, `the task sleeps 30 ms: ${JSON.stringify(run)}`)
      assert.ok(!Number.isNaN(Date.parse(run.started_at)))
    }
    assert.ok(Date.parse(task.last_runs[0].started_at) > Date.parse(task.last_runs[1].started_at), 'newest first')

    await f.ok('PATCH', `/api/configs/${recorder}`, { config: { mode: 'fail' } })
    const failed = await eventually(
      'a failed run recorded',
      () => status(recorder),
      (s) => s.scheduled[0]?.last_runs[0]?.outcome === 'error',
    )
    assert.match(failed.scheduled[0].last_runs[0].error ?? '', /the task failed on purpose/)
    // A plugin without runEvery* methods has no chains.
    assert.deepEqual((await status(retrying)).scheduled, [])
  })

  it("shows the config's last error (processEvent) without the secret, and the export and plugin metrics", async () => {
    const before = await status(thrower)
    assert.equal(before.last_error, null)
    await sendEvents(f.fleet, [{ event: 'throw' }])
    const after = await eventually(
      'last error recorded',
      () => status(thrower),
      (s) => s.last_error !== null,
    )
    assert.match(after.last_error!.message, /the API rejected key/)
    assert.ok(!JSON.stringify(after).includes(SECRET), 'the status holds the secret')
    assert.ok(!Number.isNaN(Date.parse(after.last_error!.time)))
    assert.deepEqual(after.export.metrics, { events_seen: 0, events_delivered_successfully: 0, retry_errors: 0, other_errors: 0, undelivered_events: 0 })
    assert.deepEqual(after.export.dead_letters, { pending: 0, pendingEvents: 0, replayed: 0 })
    assert.equal(after.export.pending_batches, 0)
    assert.deepEqual(after.plugin_metrics, {})
  })

  it('says disabled (with the reason) for a disabled config, and 403 to another team', async () => {
    await f.ok('POST', `/api/configs/${thrower}/disable`)
    const disabled = await status(thrower, f.teamToken)
    assert.equal(disabled.setup.status, 'disabled')
    assert.equal(disabled.config.enabled, false)
    await f.assertOtherTeamForbidden([['GET', `/api/configs/${thrower}/status`]])
  })
})
