import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { PluginRuntime, startPluginRuntime } from '@plugin-server/plugin-runtime'
import { schedulingConfig, startScheduler, StartedScheduler } from '@plugin-server/scheduling'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'
import { fastSchedulerEnv, pluginLogMessages } from './scheduling-fixture'

/** A minute of 2 s; each run's deadline 300 ms; one breach disables a config. */
const ENV = { ...fastSchedulerEnv(30, 2000), PLUGIN_TIMEOUT_MS: '300', PLUGIN_BREAKER_MAX_BREACHES: '1', LOG_LEVEL: 'fatal' }

describe('scheduler: a runEveryMinute run that reaches its deadline (in process)', function () {
  this.timeout(90_000)
  let db: TestDatabase
  let management: ReturnType<typeof managementContext>
  let ctx: ReturnType<typeof testRoleContext>
  let runtime: PluginRuntime | null
  let scheduler: StartedScheduler | null

  beforeEach(async () => {
    db = await createTestDatabase()
    const prefix = testQueuePrefix()
    management = managementContext(db.pool, prefix)
    ctx = testRoleContext('scheduler', { DATABASE_URL: db.url, QUEUE_PREFIX: prefix, ...ENV })
    runtime = null
    scheduler = null
  })
  afterEach(async () => {
    for (const closer of scheduler?.closers ?? runtime?.closers ?? []) await closer.close()
    await management.close()
    await ctx.close()
    await db.drop()
  })

  const schedule = async (code: string) => {
    const team = await createTeam(db.pool, 'tasks')
    const config = await enablePlugin(management, team.id, writePlugin('deadline-task', code))
    runtime = await startPluginRuntime(ctx)
    scheduler = await startScheduler(ctx, runtime, schedulingConfig(ctx.config))
    return config.id
  }
  const enabled = async (id: number) => (await db.pool.query<{ enabled: boolean }>('SELECT enabled FROM plugin_configs WHERE id = $1', [id])).rows[0].enabled

  it('keeps a config whose runs spend their deadline waiting (a slow API): each run stops, the schedule and the config go on', async () => {
    const id = await schedule(`export async function runEveryMinute() { await new Promise(() => {}) }`)
    const logs = await eventually(
      'three runs stopped at the deadline',
      () => pluginLogMessages(db.pool, id),
      (messages) => messages.filter((m) => m.includes('runEveryMinute stopped (time limit)')).length >= 3,
      30_000,
    )
    assert.ok(
      logs.some((m) => /time limit \(300 ms\) waiting, not computing \(not counted as a breach\)/.test(m)),
      logs.join('\n'),
    )
    assert.equal(await enabled(id), true)
  })

  it('disables a config whose run spends its deadline computing, at PLUGIN_BREAKER_MAX_BREACHES', async () => {
    const id = await schedule(`export async function runEveryMinute() { await Promise.resolve(); for (;;) {} }`)
    await eventually(
      'disabled by the breaker',
      () => enabled(id),
      (on) => !on,
      30_000,
    )
    const { rows } = await db.pool.query<{ disabled_reason: string }>('SELECT disabled_reason FROM plugin_configs WHERE id = $1', [id])
    assert.match(rows[0].disabled_reason, /exceeded its time limit 1 times/)
  })
})
