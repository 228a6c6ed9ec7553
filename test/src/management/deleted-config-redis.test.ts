import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { addPluginJob, createPluginJobsQueue, PluginJobData, redisKeys, SCHEDULER_TASKS, schedulerChainId } from '@plugin-server/core'
import { cleanDeletedConfigs, deleteConfig, deletePlugin } from '@plugin-server/management'
import { RedisPluginCache, RedisPluginCursor, TeamRedisAccount } from '@plugin-server/plugin-runtime'
import { enablePlugin } from '../harness/plugins'
import { monitoredCommands } from '../harness/redis-monitor'
import { withClockAhead } from '../harness/clock-ahead'
import { createTeamRow, ManagementHarness, startManagement } from './management-fixture'

const MiB = 1024 * 1024
const YEAR_MS = 365 * 86_400_000

describe("A deleted config's Redis state", function () {
  this.timeout(120_000)
  let h: ManagementHarness
  beforeEach(async () => (h = await startManagement()))
  afterEach(() => h.close())

  const account = (teamId: number) => new TeamRedisAccount(h.ctx.redis, h.ctx.queuePrefix, teamId, 1 * MiB)
  const held = async (teamId: number) => {
    const { total, sizes } = redisKeys(h.ctx.queuePrefix).pluginRedisAccount(teamId)
    const [bytes, entries] = await Promise.all([h.ctx.redis.get(total), h.ctx.redis.hlen(sizes)])
    return { bytes: Number(bytes ?? 0), entries }
  }
  const fleetHeld = async () => Number((await h.ctx.redis.get(redisKeys(h.ctx.queuePrefix).pluginRedisFleetTotal())) ?? 0)
  const keysLike = async (part: string) => (await h.ctx.redis.keys(`${h.ctx.queuePrefix}:${part}*`)).length

  /** 20 cursors, a 400 KB cache key and 5 jobs of 40 KB due in a year (meta.jobs.x().runIn(1, 'year')), as the audit had. */
  const fill = async (teamId: number, configId: number, pluginId: number) => {
    const team = account(teamId)
    const cursor = new RedisPluginCursor(h.ctx.redis, h.ctx.queuePrefix, configId, team)
    for (let i = 0; i < 20; i++) await cursor.init(`page-${i}`, i)
    await new RedisPluginCache(h.ctx.redis, h.ctx.queuePrefix, pluginId, team).set('big', 'x'.repeat(400_000))
    const jobs = createPluginJobsQueue(h.ctx.redis, { queuePrefix: h.ctx.queuePrefix })
    try {
      for (let i = 0; i < 5; i++) {
        const data: PluginJobData = { teamId, pluginConfigId: configId, name: 'later', payload: 'p'.repeat(40_000), enqueuedAt: new Date().toISOString() }
        const jobId = randomUUID()
        await team.reserveJob(jobs.toKey(jobId), data, 'jobs.later')
        await addPluginJob(jobs, h.ctx.redis, h.ctx.queuePrefix, data, { delay: YEAR_MS, jobId })
      }
    } finally {
      await jobs.close()
    }
  }
  const delayedJobs = async () => {
    const jobs = createPluginJobsQueue(h.ctx.redis, { queuePrefix: h.ctx.queuePrefix })
    try {
      return await jobs.getDelayed()
    } finally {
      await jobs.close()
    }
  }

  it("is dropped with the config: its cursors, its plugin's cache keys of the team and its queued jobs, their bytes given back to the team's account", async () => {
    const teamId = await createTeamRow(h, 'acme')
    const view = await enablePlugin(h.ctx, teamId, 'hello-world')
    await fill(teamId, view.id, view.plugin_id)
    assert.ok((await held(teamId)).bytes > 600_000)

    await deleteConfig(h.ctx, view.id)

    assert.deepEqual(await held(teamId), { bytes: 0, entries: 0 })
    assert.equal(await fleetHeld(), 0)
    assert.equal(await keysLike(`cursor:${view.id}:`), 0)
    assert.equal(await keysLike(`cache:${view.plugin_id}:${teamId}:`), 0)
    assert.deepEqual(await delayedJobs(), [])
    const again = await enablePlugin(h.ctx, teamId, 'hello-world')
    await new RedisPluginCache(h.ctx.redis, h.ctx.queuePrefix, again.plugin_id, account(teamId)).set('mine', 'y'.repeat(700_000))
  })

  it('drops the end of the last run of each of its scheduled tasks, which the scheduler keeps while a config is only disabled', async () => {
    const teamId = await createTeamRow(h, 'acme')
    const [gone, kept] = [await enablePlugin(h.ctx, teamId, 'hello-world'), await enablePlugin(h.ctx, teamId, 'scheduling-recorder')]
    const lastFinish = redisKeys(h.ctx.queuePrefix).scheduler.lastFinish()
    for (const id of [gone.id, kept.id]) for (const task of SCHEDULER_TASKS) await h.ctx.redis.hset(lastFinish, schedulerChainId(id, task), '1')

    await deleteConfig(h.ctx, gone.id)

    assert.deepEqual((await h.ctx.redis.hkeys(lastFinish)).sort(), SCHEDULER_TASKS.map((task) => schedulerChainId(kept.id, task)).sort())
  })

  it("leaves another team's keys, jobs and account as they were", async () => {
    const [acme, other] = [await createTeamRow(h, 'acme'), await createTeamRow(h, 'other')]
    const gone = await enablePlugin(h.ctx, acme, 'hello-world')
    const kept = await enablePlugin(h.ctx, other, 'hello-world')
    await fill(acme, gone.id, gone.plugin_id)
    await fill(other, kept.id, kept.plugin_id)
    const before = await held(other)

    await deleteConfig(h.ctx, gone.id)

    assert.deepEqual(await held(other), before)
    assert.equal(await fleetHeld(), before.bytes)
    assert.equal(await keysLike(`cursor:${kept.id}:`), 20)
    assert.equal(await keysLike(`cache:${kept.plugin_id}:${other}:`), 1)
    assert.equal((await delayedJobs()).length, 5)
  })

  it('is dropped with a plugin deleted with its configs', async () => {
    const teamId = await createTeamRow(h, 'acme')
    const view = await enablePlugin(h.ctx, teamId, 'hello-world')
    await fill(teamId, view.id, view.plugin_id)

    await deletePlugin(h.ctx, view.plugin_id, { force: true })

    assert.deepEqual(await held(teamId), { bytes: 0, entries: 0 })
    assert.equal(await keysLike(`cursor:${view.id}:`), 0)
    assert.equal(await keysLike(`cache:${view.plugin_id}:${teamId}:`), 0)
    assert.deepEqual(await delayedJobs(), [])
  })

  it("of a team deleted in SQL is dropped by a later pass, which then forgets the config's record", async () => {
    const teamId = await createTeamRow(h, 'acme')
    const view = await enablePlugin(h.ctx, teamId, 'hello-world')
    await fill(teamId, view.id, view.plugin_id)
    await h.db.pool.query('DELETE FROM teams WHERE id = $1', [teamId])

    const first = await cleanDeletedConfigs(h.ctx, { graceMs: 0 })

    assert.deepEqual({ configs: first.configs, keys: first.keys > 0, jobs: first.jobs }, { configs: 1, keys: true, jobs: 5 })
    assert.deepEqual(await held(teamId), { bytes: 0, entries: 0 })
    assert.equal(await keysLike(`cursor:${view.id}:`), 0)
    assert.equal((await h.db.pool.query('SELECT 1 FROM deleted_plugin_configs')).rowCount, 0)
    assert.deepEqual(await cleanDeletedConfigs(h.ctx, { graceMs: 0 }), { configs: 0, keys: 0, jobs: 0, bytes: 0 })
  })

  it('written by a worker after the delete (it had not reloaded yet) is dropped by the pass after the grace period; passes within it leave the cleaned config alone', async () => {
    const teamId = await createTeamRow(h, 'acme')
    const view = await enablePlugin(h.ctx, teamId, 'hello-world')
    await deleteConfig(h.ctx, view.id)
    await new RedisPluginCursor(h.ctx.redis, h.ctx.queuePrefix, view.id, account(teamId)).init('late', 1)

    assert.deepEqual(await cleanDeletedConfigs(h.ctx), { configs: 0, keys: 0, jobs: 0, bytes: 0 }, 'cleaned by its delete: not scanned for again')
    assert.equal((await h.db.pool.query('SELECT 1 FROM deleted_plugin_configs')).rowCount, 1, 'kept for the grace period')

    const last = await cleanDeletedConfigs(h.ctx, { graceMs: 0 })

    assert.deepEqual({ configs: last.configs, keys: last.keys }, { configs: 1, keys: 1 })
    assert.deepEqual(await held(teamId), { bytes: 0, entries: 0 })
    assert.equal(await keysLike(`cursor:${view.id}:`), 0)
    assert.equal((await h.db.pool.query('SELECT 1 FROM deleted_plugin_configs')).rowCount, 0)
  })
  it("keeps a deleted config's record through its grace period by the database's clock, on a pod whose clock runs 10 days ahead", async () => {
    const teamId = await createTeamRow(h, 'acme')
    const view = await enablePlugin(h.ctx, teamId, 'hello-world')
    await h.db.pool.query('DELETE FROM teams WHERE id = $1', [teamId])
    // The default grace is 8 days: by this pod's clock the record is 10 days old, by the database's a moment.
    const first = await withClockAhead(10, () => cleanDeletedConfigs(h.ctx))
    assert.equal(first.configs, 1)
    assert.equal(
      (await h.db.pool.query('SELECT 1 FROM deleted_plugin_configs WHERE plugin_config_id = $1', [view.id])).rowCount,
      1,
      'kept for the pass after the grace period',
    )
  })

  it("of several configs is looked for in one SCAN of the keyspace, not one per config (a team's delete is all of its configs)", async () => {
    const teamId = await createTeamRow(h, 'acme')
    const views = [
      await enablePlugin(h.ctx, teamId, 'hello-world'),
      await enablePlugin(h.ctx, teamId, 'try-tagger'),
      await enablePlugin(h.ctx, teamId, 'ui-tagger'),
    ]
    for (const view of views) await new RedisPluginCursor(h.ctx.redis, h.ctx.queuePrefix, view.id, account(teamId)).init('page', 1)
    await h.db.pool.query('DELETE FROM teams WHERE id = $1', [teamId])

    const scans = await monitoredCommands(
      h.ctx.redis,
      (args) => args[0].toLowerCase() === 'scan' && args[1] === '0',
      () => cleanDeletedConfigs(h.ctx, { graceMs: 0 }),
    )

    assert.equal(scans.length, 1, 'full SCANs of the keyspace')
    for (const view of views) assert.equal(await keysLike(`cursor:${view.id}:`), 0)
    assert.deepEqual(await held(teamId), { bytes: 0, entries: 0 })
  })
})
