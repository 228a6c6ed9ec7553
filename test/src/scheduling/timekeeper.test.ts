import assert from 'node:assert/strict'
import { createTeam, Team } from '@plugin-server/db'
import { PluginRuntime, startPluginRuntime } from '@plugin-server/plugin-runtime'
import { setConfigEnabled } from '@plugin-server/management'
import { schedulingConfig, startScheduler, StartedScheduler, taskSchedule } from '@plugin-server/scheduling'
import Redis from 'ioredis'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'
import { bound } from '../harness/wait'
import { dueOf, pluginLogMessages, recordedRuns, sleep } from './scheduling-fixture'

const TIME_SCALE = 120
const INTERVAL = 60_000 / TIME_SCALE

describe('Timekeeper and TaskRunner (the scheduler in-process)', function () {
  this.timeout(60_000)
  let db: TestDatabase
  let team: Team
  let prefix: string
  let redis: Redis
  let management: ReturnType<typeof managementContext>
  let ctx: ReturnType<typeof testRoleContext>
  let runtime: PluginRuntime | null
  let scheduler: StartedScheduler | null

  beforeEach(async () => {
    db = await createTestDatabase()
    team = await createTeam(db.pool, 'scheduling')
    prefix = testQueuePrefix()
    redis = new Redis(process.env.REDIS_URL!)
    management = managementContext(db.pool, prefix)
    runtime = null
    scheduler = null
  })
  afterEach(async () => {
    for (const closer of scheduler?.closers ?? runtime?.closers ?? []) await closer.close()
    await ctx?.close()
    redis.disconnect()
    await management.close()
    await db.drop()
  })

  const start = async (env: Record<string, string> = {}) => {
    const all = {
      DATABASE_URL: db.url,
      QUEUE_PREFIX: prefix,
      TIME_SCALE: String(TIME_SCALE),
      SCHEDULER_RECONCILE_INTERVAL_MS: '300',
      SCHEDULER_LOCK_DURATION_MS: '1000',
      ...env,
    }
    ctx = testRoleContext('scheduler', all)
    runtime = await startPluginRuntime(ctx)
    scheduler = await startScheduler(ctx, runtime, schedulingConfig(ctx.config))
    return scheduler
  }
  const runsOf = (pluginId: number) => recordedRuns(redis, prefix, pluginId, team.id)

  it('creates the chain of a new config, which then runs once a minute at its due time', async () => {
    await start()
    const config = await enablePlugin(management, team.id, 'scheduling-recorder', { durationMs: '100' })
    const { runs } = await eventually(
      'runs',
      () => runsOf(config.plugin_id),
      (r) => r.runs.length >= 4,
    )
    const schedule = taskSchedule(config.id, 'runEveryMinute', TIME_SCALE)
    // The first run is the new chain's, at once when its due time in the current minute has passed.
    const steady = runs.slice(1)
    const late = steady.map((r) => r.start - dueOf(schedule, r.start))
    assert.ok(
      late.every((ms) => ms >= -20 && ms <= 100 + bound(250)),
      `started ${late.join(', ')} ms after the due times (a run lasts 100 ms)`,
    )
    const periods = runs.map((r) => Math.floor(r.start / INTERVAL))
    assert.equal(new Set(periods).size, periods.length, `two runs in one minute: ${periods.join(', ')}`)
    assert.deepEqual(await redis.smembers(`${prefix}:scheduler:chains`), [`chain-${config.id}-runEveryMinute`])
  })

  it('re-creates a chain lost with the Redis data, running again at its due time after its last run’s minute', async () => {
    const config = await enablePlugin(management, team.id, 'scheduling-recorder', { durationMs: '50' })
    const { timekeeper } = await start({ SCHEDULER_RECONCILE_INTERVAL_MS: '60000' })
    await eventually(
      'first run',
      () => runsOf(config.plugin_id),
      (r) => r.runs.length >= 1,
    )
    // What a Redis failover without persistence leaves: no job, no deduplication key, no chain set.
    const [worker] = scheduler!.shardWorkers
    await worker.pause()
    const keys = await redis.keys(`${prefix}:scheduled:*`)
    await redis.del(...keys, `${prefix}:scheduler:chains`)
    worker.resume()
    const lostAt = Date.now()
    const result = await timekeeper.reconcile()
    assert.deepEqual(result.created, [`chain-${config.id}-runEveryMinute`])
    const { starts } = await eventually(
      'run after the loss',
      () => runsOf(config.plugin_id),
      (r) => r.starts.some((s) => s > lostAt),
    )
    assert.ok(starts.find((s) => s > lostAt)! - lostAt <= INTERVAL + 1000)
  })

  it('removes the chain within seconds when the config is disabled, and no run follows', async () => {
    await start()
    const config = await enablePlugin(management, team.id, 'scheduling-recorder', { durationMs: '50' })
    await eventually(
      'first run',
      () => runsOf(config.plugin_id),
      (r) => r.runs.length >= 1,
    )
    await setConfigEnabled(management, config.id, false)
    const disabledAt = Date.now()
    await eventually(
      'chain removed',
      () => redis.exists(`${prefix}:scheduled:de:chain-${config.id}-runEveryMinute`),
      (n) => n === 0,
      5000,
    )
    assert.deepEqual(await redis.smembers(`${prefix}:scheduler:chains`), [])
    await sleep(3 * INTERVAL)
    assert.deepEqual(
      (await runsOf(config.plugin_id)).starts.filter((s) => s > disabledAt + 200),
      [],
    )
  })

  it('runs a config disabled and enabled again at its next due time, not again in its last run’s period: a toggle does not run a daily task twice that day', async () => {
    // A minute of 5 s: long enough to tell "at once" (a reconcile, 300 ms) from "at the next minute's due time".
    const interval = 5000
    const timeScale = 60_000 / interval
    await start({ TIME_SCALE: String(timeScale) })
    const config = await enablePlugin(management, team.id, 'scheduling-recorder', { durationMs: '50' })
    const { runs } = await eventually(
      'first run',
      () => runsOf(config.plugin_id),
      (r) => r.runs.length >= 1,
    )
    await setConfigEnabled(management, config.id, false)
    await eventually(
      'chain removed',
      () => redis.smembers(`${prefix}:scheduler:chains`),
      (chains) => chains.length === 0,
      5000,
    )
    await setConfigEnabled(management, config.id, true)
    const { starts } = await eventually(
      'a run after the toggle',
      () => runsOf(config.plugin_id),
      (r) => r.starts.length >= 2,
      3 * interval,
    )
    const period = (time: number) => Math.floor(time / interval)
    assert.ok(period(starts[1]) > period(runs[0].start), `ran again ${starts[1] - runs[0].end} ms after the last run ended, in the same minute`)
    const late = starts[1] - dueOf(taskSchedule(config.id, 'runEveryMinute', timeScale), starts[1])
    assert.ok(late >= -20 && late <= bound(500), `ran again ${late} ms after its due time`)
  })

  it("writes a failing task's error to the plugin logs and keeps the schedule going", async () => {
    await start()
    const config = await enablePlugin(management, team.id, 'scheduling-recorder', { mode: 'fail' })
    await eventually(
      'runs',
      () => runsOf(config.plugin_id),
      (r) => r.runs.length >= 3,
    )
    const logs = await eventually(
      'error logged',
      () => pluginLogMessages(db.pool, config.id),
      (m) => m.some((l) => l.includes('runEveryMinute failed')),
    )
    assert.ok(
      logs.some((l) => l.includes('runEveryMinute failed: Error: the task failed on purpose; the schedule goes on')),
      logs.join('\n'),
    )
  })

  it('stops a task at the sandbox deadline and keeps the schedule going', async () => {
    await start({ PLUGIN_TIMEOUT_MS: '300' })
    const config = await enablePlugin(management, team.id, 'scheduling-recorder', { mode: 'hang' })
    const { starts } = await eventually(
      'runs',
      () => runsOf(config.plugin_id),
      (r) => r.starts.length >= 2,
      20_000,
    )
    // The stopped run overran its successor's due time: the next one starts at the first due time after it.
    assert.ok(starts[1] - starts[0] >= 300, `second run ${starts[1] - starts[0]} ms after the first, before the first was stopped`)
    assert.ok(Math.floor(starts[1] / INTERVAL) > Math.floor(starts[0] / INTERVAL), 'two runs in one minute')
    const logs = await eventually(
      'timeout logged',
      () => pluginLogMessages(db.pool, config.id),
      (m) => m.some((l) => l.includes('runEveryMinute stopped')),
    )
    assert.ok(
      logs.some((l) => /runEveryMinute stopped \(time limit\)/.test(l)),
      logs.join('\n'),
    )
  })
})
