import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { startPluginRuntime } from '@plugin-server/plugin-runtime'
import { schedulingConfig, startScheduler, StartedScheduler } from '@plugin-server/scheduling'
import Redis from 'ioredis'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'
import { bound } from '../harness/wait'

// TIME_SCALE 600: a minute lasts 100 ms, so a slow team's chains are due again almost as soon as they end.
const TIME_SCALE = 600
const SLOW_RUN_MS = 3000

describe('scheduler: a team holds at most its share of the slots, and teams whose tasks hang not every slot (SCHEDULER_TEAM_CONCURRENCY, SCHEDULER_STUCK_EXTRA_SLOTS, in-process)', function () {
  this.timeout(60_000)
  let db: TestDatabase
  let redis: Redis
  let management: ReturnType<typeof managementContext>
  let ctx: ReturnType<typeof testRoleContext>
  let scheduler: StartedScheduler

  // A database per test: the scheduler runs every enabled config's tasks it finds.
  beforeEach(async () => {
    db = await createTestDatabase()
    redis = new Redis(process.env.REDIS_URL!)
  })
  afterEach(async () => {
    for (const closer of scheduler?.closers ?? []) await closer.close()
    await ctx?.close()
    await management?.close()
    redis.disconnect()
    await db.drop()
  })

  it("starts another team's task on time while one team's many slow tasks keep every slot wanted", async () => {
    const prefix = testQueuePrefix()
    management = managementContext(db.pool, prefix)
    const slowTeam = await createTeam(db.pool, 'slow tasks')
    const slowTask = `export async function runEveryMinute() { await new Promise((resolve) => setTimeout(resolve, ${SLOW_RUN_MS})) }`
    // A team has one config per plugin: six plugins.
    for (let n = 0; n < 6; n++) await enablePlugin(management, slowTeam.id, writePlugin(`slow-tasks-${n}`, slowTask))
    const team = await createTeam(db.pool, 'quick task')
    const quick = await enablePlugin(
      management,
      team.id,
      writePlugin('quick-task', `export async function runEveryMinute({ cache }) { await cache.lpush('starts', [String(Date.now())]) }`),
    )
    // Two slots, one of them the slow team's (half, the default share).
    ctx = testRoleContext('scheduler', { DATABASE_URL: db.url, QUEUE_PREFIX: prefix, TIME_SCALE: String(TIME_SCALE), SCHEDULER_CONCURRENCY: '2' })
    scheduler = await startScheduler(ctx, await startPluginRuntime(ctx), schedulingConfig(ctx.config))
    const starts = async () => (await redis.lrange(`${prefix}:cache:${quick.plugin_id}:${team.id}:starts`, 0, -1)).map(Number).sort((a, b) => a - b)

    const runs = await eventually('the quick task ran four times', starts, (s) => s.length >= 4)
    // Its interval is 100 ms; queued behind the slow team's runs it would wait about 3 s (one slow run) each time.
    const gaps = runs.slice(1, 4).map((t, i) => t - runs[i])
    assert.ok(
      gaps.every((gap) => gap < bound(1500)),
      `the quick task's runs ${gaps.join(', ')} ms apart (interval 100 ms, a slow run ${SLOW_RUN_MS} ms)`,
    )
  })

  it("starts a third team's task while two teams' tasks hang, each team holding its SCHEDULER_TEAM_CONCURRENCY share of the slots", async () => {
    const prefix = testQueuePrefix()
    management = managementContext(db.pool, prefix)
    const times = (pluginId: number, teamId: number, key: string) => async () =>
      (await redis.lrange(`${prefix}:cache:${pluginId}:${teamId}:${key}`, 0, -1)).map(Number).sort((a, b) => a - b)
    const hanging: { started: () => Promise<number[]>; ended: () => Promise<number[]> }[] = []
    for (const name of ['hang-a', 'hang-b']) {
      const hangTeam = await createTeam(db.pool, name)
      const hangTask = `export async function runEveryMinute({ cache }) {
        await cache.lpush('started', [String(Date.now())])
        await new Promise((resolve) => setTimeout(resolve, 8000))
        await cache.lpush('ended', [String(Date.now())])
      }`
      const config = await enablePlugin(management, hangTeam.id, writePlugin(`${name}-task`, hangTask))
      hanging.push({ started: times(config.plugin_id, hangTeam.id, 'started'), ended: times(config.plugin_id, hangTeam.id, 'ended') })
    }
    const team = await createTeam(db.pool, 'quick task')
    const quick = await enablePlugin(
      management,
      team.id,
      writePlugin('quick-task-2', `export async function runEveryMinute({ cache }) { await cache.lpush('starts', [String(Date.now())]) }`),
    )
    // Two slots, one per team: the two hanging teams' runs take both.
    ctx = testRoleContext('scheduler', {
      DATABASE_URL: db.url,
      QUEUE_PREFIX: prefix,
      TIME_SCALE: String(TIME_SCALE),
      SCHEDULER_CONCURRENCY: '2',
      SCHEDULER_TEAM_CONCURRENCY: '1',
      SCHEDULER_STUCK_AFTER_MS: '200',
    })
    scheduler = await startScheduler(ctx, await startPluginRuntime(ctx), schedulingConfig(ctx.config))
    const bothHanging = await eventually(
      "both teams' tasks hang",
      async () => Promise.all(hanging.map((h) => h.started())),
      (started) => started.every((s) => s.length === 1),
    )
    const since = Math.max(...bothHanging.flat())
    const starts = times(quick.plugin_id, team.id, 'starts')
    const runs = await eventually(
      'the quick task ran twice since',
      async () => (await starts()).filter((t) => t > since),
      (s) => s.length >= 2,
    )
    const ended = (await Promise.all(hanging.map((h) => h.ended()))).flat()
    assert.equal(ended.length, 0, `the hanging tasks still hang: the quick task ran ${runs[0] - since} ms after the second began to hang`)
    await eventually(
      'each stuck run stopped counting against SCHEDULER_CONCURRENCY',
      async () => scheduler.shardWorkers[0].concurrency,
      (n) => n === 4,
    )
  })
})
