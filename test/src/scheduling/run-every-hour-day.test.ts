import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { startPluginRuntime } from '@plugin-server/plugin-runtime'
import { schedulingConfig, startScheduler, StartedScheduler } from '@plugin-server/scheduling'
import Redis from 'ioredis'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'

// TIME_SCALE 36 000: an hour lasts 100 ms and a day 2.4 s.
const TIME_SCALE = 36_000
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

  it('runs each task on its own interval, one run after the other ended', async () => {
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
      20_000,
    )
    const hours = await runs('hour')
    const gaps = (starts: number[]) => starts.slice(1).map((t, i) => t - starts[i])
    assert.ok(
      gaps(days).every((gap) => gap >= DAY - 20 && gap <= DAY + 1000),
      `daily gaps ${JSON.stringify(gaps(days))} (a day is ${DAY} ms)`,
    )
    assert.ok(hours.length >= (2 * DAY) / (HOUR + 100), `${hours.length} hourly runs in two days`)
    assert.ok(
      gaps(hours).every((gap) => gap >= HOUR - 20),
      `hourly gaps ${JSON.stringify(gaps(hours))} (an hour is ${HOUR} ms)`,
    )
  })
})
