import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { startPluginRuntime } from '@plugin-server/plugin-runtime'
import { schedulingConfig, startScheduler, StartedScheduler, taskSchedule } from '@plugin-server/scheduling'
import Redis from 'ioredis'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'
import { bound } from '../harness/wait'
import { dueOf } from './scheduling-fixture'

// TIME_SCALE 14 400: an hour lasts 250 ms and a day 6 s (an hour of 100 ms is shorter than twice what a
// run costs the scheduler beside the plugin on a busy machine, so hours would be skipped, not tested).
const TIME_SCALE = 14_400
const HOUR = 3_600_000 / TIME_SCALE
const DAY = 86_400_000 / TIME_SCALE

describe('scheduler: runEveryHour and runEveryDay (in-process)', function () {
  this.timeout(60_000)
  let db: TestDatabase
  let redis: Redis
  let management: ReturnType<typeof managementContext>
  let ctx: ReturnType<typeof testRoleContext>
  let scheduler: StartedScheduler

  before(async () => {
    db = await createTestDatabase()
    redis = new Redis(process.env.REDIS_URL!)
  })
  after(async () => {
    for (const closer of scheduler?.closers ?? []) await closer.close()
    await ctx?.close()
    await management?.close()
    redis.disconnect()
    await db.drop()
  })

  it('runs each task once in each period of its own interval, the daily one at its due time', async () => {
    const team = await createTeam(db.pool, 'hourly')
    const prefix = testQueuePrefix()
    management = managementContext(db.pool, prefix)
    const config = await enablePlugin(
      management,
      team.id,
      writePlugin(
        'hour-and-day',
        `export async function runEveryHour({ cache }) { await cache.lpush('hour', [String(Date.now())]) }
        export async function runEveryDay({ cache }) { await cache.lpush('day', [String(Date.now())]) }`,
      ),
    )
    ctx = testRoleContext('scheduler', { DATABASE_URL: db.url, QUEUE_PREFIX: prefix, TIME_SCALE: String(TIME_SCALE), SCHEDULER_RECONCILE_INTERVAL_MS: '300' })
    scheduler = await startScheduler(ctx, await startPluginRuntime(ctx), schedulingConfig(ctx.config))
    const runs = async (task: string) => (await redis.lrange(`${prefix}:cache:${config.plugin_id}:${team.id}:${task}`, 0, -1)).map(Number).sort((a, b) => a - b)

    const days = await eventually(
      'three daily runs',
      () => runs('day'),
      (r) => r.length >= 3,
      40_000,
    )
    const hours = await runs('hour')
    const day = taskSchedule(config.id, 'runEveryDay', TIME_SCALE)
    // The first run may wait for the plugin's setup.
    const late = days.slice(1).map((start) => start - dueOf(day, start))
    assert.ok(
      late.every((ms) => ms >= -20 && ms <= bound(300)),
      `daily runs ${late.join(', ')} ms after their due times (a day is ${DAY} ms)`,
    )
    const dayPeriods = days.map((start) => Math.floor(start / DAY))
    assert.deepEqual(
      dayPeriods.map((p) => p - dayPeriods[0]),
      [...dayPeriods.keys()],
      'one daily run in each day',
    )
    const hourPeriods = hours.map((start) => Math.floor(start / HOUR))
    assert.equal(new Set(hourPeriods).size, hourPeriods.length, `two runs in one hour: ${hourPeriods.join(', ')}`)
    assert.ok(hours.length >= (0.75 * 2 * DAY) / HOUR, `${hours.length} hourly runs in two days`)
  })
})
