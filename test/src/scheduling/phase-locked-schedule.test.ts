import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { PluginRuntime, startPluginRuntime } from '@plugin-server/plugin-runtime'
import { schedulingConfig, startScheduler, StartedScheduler, taskSchedule } from '@plugin-server/scheduling'
import Redis from 'ioredis'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'
import { bound } from '../harness/wait'
import { dueOf, overlaps, recordedRuns, Run } from './scheduling-fixture'

describe('scheduler: runEvery* runs phase-locked to their due times (in-process)', function () {
  this.timeout(120_000)
  let db: TestDatabase
  let prefix: string
  let redis: Redis
  let management: ReturnType<typeof managementContext>
  let ctx: ReturnType<typeof testRoleContext> | null
  let runtime: PluginRuntime | null
  let scheduler: StartedScheduler | null

  beforeEach(async () => {
    db = await createTestDatabase()
    prefix = testQueuePrefix()
    redis = new Redis(process.env.REDIS_URL!)
    management = managementContext(db.pool, prefix)
    ctx = runtime = scheduler = null
  })
  afterEach(async () => {
    for (const closer of scheduler?.closers ?? runtime?.closers ?? []) await closer.close()
    await ctx?.close()
    redis.disconnect()
    await management.close()
    await db.drop()
  })

  const start = async (timeScale: number) => {
    ctx = testRoleContext('scheduler', {
      DATABASE_URL: db.url,
      QUEUE_PREFIX: prefix,
      TIME_SCALE: String(timeScale),
      SCHEDULER_RECONCILE_INTERVAL_MS: '300',
      SCHEDULER_LOCK_DURATION_MS: '2000',
      PLUGIN_TIMEOUT_MS: '20000',
    })
    runtime = await startPluginRuntime(ctx)
    scheduler = await startScheduler(ctx, runtime, schedulingConfig(ctx.config))
  }

  const recorder = async (teamName: string, durationMs: number) => {
    const team = await createTeam(db.pool, teamName)
    const config = await enablePlugin(management, team.id, 'scheduling-recorder', { durationMs: String(durationMs) })
    return { config, runs: async () => (await recordedRuns(redis, prefix, config.plugin_id, team.id)).runs }
  }

  it('keeps two configs each on its own phase over ten periods while every run takes 30% of the interval: one start per period, none later than the run before lasted', async () => {
    // A minute of 4 s, runs of 1.2 s. Debounced, each run started 1.2 s later in its period than the one
    // before, so the fourth run already fell a period behind.
    const timeScale = 15
    const interval = 60_000 / timeScale
    const duration = 0.3 * interval
    const configs = [await recorder('phase a', duration), await recorder('phase b', duration)]
    await start(timeScale)
    const all = await eventually(
      'eleven runs of each config',
      () => Promise.all(configs.map((c) => c.runs())),
      (runs) => runs.every((r) => r.length >= 11),
      15 * interval,
    )
    const schedules = configs.map(({ config }) => taskSchedule(config.id, 'runEveryMinute', timeScale))
    assert.notEqual(schedules[0].phaseMs, schedules[1].phaseMs, 'two configs, two phases')
    all.forEach((runs: Run[], c) => {
      const schedule = schedules[c]
      // The first run may be the new chain's, at once; the ten after it are on the schedule.
      const steady = runs.slice(1, 11)
      const late = steady.map((r) => r.start - dueOf(schedule, r.start))
      const periods = steady.map((r) => Math.floor(r.start / interval))
      assert.deepEqual(overlaps(runs), [])
      assert.ok(
        late.every((ms) => ms >= -20 && ms <= duration + bound(400)),
        `config ${c} (phase ${schedule.phaseMs} ms): runs started ${late.join(', ')} ms after their due times (a run lasts ${duration} ms)`,
      )
      assert.deepEqual(
        periods.map((p) => p - periods[0]),
        [...Array(10).keys()],
        `config ${c}: one start in each of ten consecutive periods (starts ${late.join(', ')} ms after their due times)`,
      )
    })
  })

  it('runs a chain that fell due while every replica was down once, at once, and the next one at its due time in a later minute: the missed minutes are skipped', async () => {
    const timeScale = 15
    const interval = 60_000 / timeScale
    // A config whose due time is late in the minute, so the replica comes back early in a minute, before it: the
    // overdue run is that minute's, and the next waits for the next minute's due time (a delay above one interval).
    let id = 1000
    while (taskSchedule(id, 'runEveryMinute', timeScale).phaseMs < 0.45 * interval) id++
    await db.pool.query(`SELECT setval(pg_get_serial_sequence('plugin_configs', 'id'), $1)`, [id - 1])
    const { config, runs } = await recorder('down and up', 50)
    assert.equal(config.id, id)
    const schedule = taskSchedule(id, 'runEveryMinute', timeScale)
    await start(timeScale)
    const before = await eventually('two runs', runs, (r) => r.length >= 2, 3 * interval)
    for (const closer of scheduler!.closers) await closer.close()
    await ctx!.close()
    ctx = runtime = scheduler = null
    const lastStart = before[before.length - 1].start
    await eventually(
      'two minutes missed, and early in a minute',
      async () => Date.now(),
      (now) => now - lastStart > 2 * interval && now % interval < 0.2 * interval,
      4 * interval,
    )
    const backAt = Date.now()
    await start(timeScale)
    const done = await eventually('three runs after the replica came back', runs, (r) => r.filter((run) => run.start > backAt).length >= 3, 5 * interval)
    const [overdue, ...after] = done.filter((run) => run.start > backAt)
    assert.ok(overdue.start - backAt < bound(2000), `the overdue run started ${overdue.start - backAt} ms after the replica came back`)
    const late = after.map((run) => run.start - dueOf(schedule, run.start))
    assert.ok(
      late.every((ms) => ms >= -20 && ms <= bound(400)),
      `the runs after the overdue one started ${late.join(', ')} ms after their due times`,
    )
    const periods = [overdue, ...after].map((run) => Math.floor(run.start / interval))
    assert.deepEqual(
      periods.slice(1).map((p, i) => p - periods[i]),
      [1, 1],
      `one run in each minute from the one the replica came back in: ${periods.join(', ')}`,
    )
  })

  it("starts each run at its due time when runs last most of the interval: the successor is timed from the run's end, not its start", async () => {
    // A minute of 4 s, runs of 2.6 s, a phase past 0.35 of the minute. Timed from the start, each successor began
    // the run's duration after its due time, in the minute after its own, and every other minute had no run.
    const timeScale = 15
    const interval = 60_000 / timeScale
    const duration = 0.65 * interval
    let id = 2000
    while (taskSchedule(id, 'runEveryMinute', timeScale).phaseMs < 0.35 * interval) id++
    await db.pool.query(`SELECT setval(pg_get_serial_sequence('plugin_configs', 'id'), $1)`, [id - 1])
    const { config, runs } = await recorder('most of the minute', duration)
    assert.equal(config.id, id)
    await start(timeScale)
    const done = await eventually('five runs', runs, (r) => r.length >= 5, 12 * interval)
    const schedule = taskSchedule(id, 'runEveryMinute', timeScale)
    const steady = done.slice(1, 5)
    const late = steady.map((r) => r.start - dueOf(schedule, r.start))
    assert.deepEqual(overlaps(done), [])
    assert.ok(
      late.every((ms) => ms >= -20 && ms <= bound(400)),
      `runs started ${late.join(', ')} ms after their due times (a run lasts ${duration} ms)`,
    )
    const periods = steady.map((r) => Math.floor(r.start / interval))
    assert.deepEqual(
      periods.slice(1).map((p, i) => p - periods[i]),
      [1, 1, 1],
      `one run in each minute: periods ${periods.join(', ')}`,
    )
  })

  it('skips the periods a run longer than its interval overlaps, and starts the next one at its due time again', async () => {
    // A minute of 2 s, runs of 3 s: PostHog's cron skipped the minute a run was still going on in and ran at the one after.
    const timeScale = 30
    const interval = 60_000 / timeScale
    const duration = 1.5 * interval
    const { config, runs } = await recorder('long runs', duration)
    await start(timeScale)
    const done = await eventually('five long runs', runs, (r) => r.length >= 5, 15 * interval)
    const schedule = taskSchedule(config.id, 'runEveryMinute', timeScale)
    const steady = done.slice(1)
    const late = steady.map((r) => r.start - dueOf(schedule, r.start))
    assert.deepEqual(overlaps(done), [])
    assert.ok(
      late.every((ms) => ms >= -20 && ms <= bound(400)),
      `runs started ${late.join(', ')} ms after their due times`,
    )
    const periods = steady.map((r) => Math.floor(r.start / interval))
    assert.deepEqual(
      periods.slice(1).map((p, i) => p - periods[i]),
      [2, 2, 2],
      `each run skips the one period it overlaps: periods ${periods.join(', ')}`,
    )
  })
})
