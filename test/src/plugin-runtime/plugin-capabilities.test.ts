import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createTeam, Team } from '@plugin-server/db'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { PluginRuntime, startPluginRuntime } from '@plugin-server/plugin-runtime'
import { createPluginChainMetrics, processEventStep } from '@plugin-server/ingestion'
import { createSchedulerMetrics, ScheduledQueues, Timekeeper, triggerJob } from '@plugin-server/scheduling'
import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { managementContext, writePlugin } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'

/** The defaults of PLUGIN_TEAM_REDIS_LIMIT_MB and PLUGIN_REDIS_LIMIT_MB. */
const REDIS_LIMITS = { teamRedisLimitMb: 256, redisLimitMb: 2048, jobMaxPayloadBytes: 1024 * 1024 }

/** Every export the capabilities name, and a setupPlugin whose run would show (a counter in the cache). */
const EVERYTHING = `
export async function setupPlugin({ cache }) { await cache.incr('setups') }
export function processEvent(event) { return event }
export async function exportEvents(events) {}
export async function runEveryMinute() {}
export const jobs = { sync: async () => {}, backfill: async () => {} }`

const EXPORTER = `
export async function setupPlugin({ cache }) { await cache.incr('setups') }
export async function onEvent(event) {}
export async function runEveryHour() {}`

const ENRICHER = `
export async function setupPlugin({ cache }) { await cache.incr('setups') }
export function processEvent(event) { return event }`

describe('Plugin capabilities (recorded at install, read instead of loading plugins)', function () {
  this.timeout(60_000)
  let db: TestDatabase
  let team: Team
  let prefix: string
  let redis: Redis
  let management: ReturnType<typeof managementContext>
  let ctx: ReturnType<typeof testRoleContext> | null
  let runtime: PluginRuntime | null

  beforeEach(async () => {
    db = await createTestDatabase()
    team = await createTeam(db.pool, 'capabilities')
    prefix = testQueuePrefix()
    redis = new Redis(process.env.REDIS_URL!)
    management = managementContext(db.pool, prefix)
    ctx = null
    runtime = null
  })
  afterEach(async () => {
    for (const closer of runtime?.closers ?? []) await closer.close()
    await ctx?.close()
    redis.disconnect()
    await management.close()
    await db.drop()
  })

  const install = async (name: string, code: string, pluginJson: Record<string, unknown> = {}) => {
    const dir = writePlugin(name, code)
    if (Object.keys(pluginJson).length > 0) fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify({ name, config: [], ...pluginJson }))
    const { plugin } = await installPluginFromPath(management, dir)
    const config = await createConfig(management, { teamId: team.id, plugin: plugin.id, config: {}, enabled: true })
    return { plugin, config }
  }
  const capabilitiesRow = async (pluginId: number) => {
    const { rows } = await db.pool.query<{ capabilities: unknown }>('SELECT capabilities FROM plugin_versions WHERE plugin_id = $1 ORDER BY version DESC', [
      pluginId,
    ])
    return rows[0]?.capabilities ?? null
  }
  const setups = async (pluginId: number) => Number((await redis.get(`${prefix}:cache:${pluginId}:${team.id}:setups`)) ?? 0)
  const start = async () => {
    ctx = testRoleContext('scheduler', { DATABASE_URL: db.url, QUEUE_PREFIX: prefix, PLUGIN_RECONCILE_INTERVAL_MS: '100000' })
    runtime = await startPluginRuntime(ctx)
    return runtime
  }

  it('records the methods, jobs, publicJobs and export buffering of a version when it is installed', async () => {
    const { plugin } = await install('everything', EVERYTHING, { publicJobs: { sync: { payload: {} } } })
    assert.deepEqual(await capabilitiesRow(plugin.id), {
      methods: ['exportEvents', 'processEvent', 'runEveryMinute', 'setupPlugin'],
      jobs: ['backfill', 'sync'],
      publicJobs: ['sync'],
      buffersExports: true,
    })
    assert.equal(await setups(plugin.id), 0, 'setupPlugin does not run at install')
  })

  it('still installs a plugin whose module throws when evaluated, with its capabilities left unknown', async () => {
    const { plugin } = await install('throws-on-load', `throw new Error('needs a database at import')\nexport function processEvent(e) { return e }`)
    assert.equal(await capabilitiesRow(plugin.id), null)
  })

  it('answers the export hand-off from the version rows without setting up any of the team’s plugins', async () => {
    const exporter = await install('exporter', EXPORTER)
    const enricher = await install('enricher', ENRICHER)
    const { manager } = await start()
    assert.equal(await manager.teamHas(team.id, ['onEvent', 'onSnapshot', 'exportEvents']), true)
    assert.equal(await manager.teamHas(team.id, ['exportEvents']), false)
    assert.equal(manager.state(exporter.config.id)?.status, 'pending')
    assert.equal(manager.state(enricher.config.id)?.status, 'pending')
    assert.equal((await setups(exporter.plugin.id)) + (await setups(enricher.plugin.id)), 0)
  })

  it('creates the scheduler’s chains from the version rows without setting up any plugin', async () => {
    const exporter = await install('exporter', EXPORTER)
    const enricher = await install('enricher', ENRICHER)
    const { manager, services } = await start()
    const queues = new ScheduledQueues(ctx!.newRedisConnection('scheduled-queue'), prefix, 1)
    try {
      const timekeeper = new Timekeeper({
        manager,
        queues,
        redis: services.redis,
        pool: db.pool,
        logger: services.logger,
        metrics: createSchedulerMetrics(ctx!.registry),
        queuePrefix: prefix,
        timeScale: 1,
      })
      const result = await timekeeper.reconcile()
      assert.deepEqual(result.created, [`chain-${exporter.config.id}-runEveryHour`])
      assert.equal(manager.state(exporter.config.id)?.status, 'pending')
      assert.equal(manager.state(enricher.config.id)?.status, 'pending')
      assert.equal(await setups(exporter.plugin.id), 0)
    } finally {
      await queues.at(0).obliterate({ force: true })
      await queues.close()
    }
  })

  it('sets up only the configs that export when the exporter asks for them, not a processEvent-only one', async () => {
    const exporter = await install('exporter', EXPORTER)
    const enricher = await install('enricher', ENRICHER)
    const { manager } = await start()
    const configs = await manager.teamConfigs(team.id, ['onEvent', 'onSnapshot', 'composeWebhook', 'exportEvents'])
    assert.deepEqual(
      configs.map((c) => c.record.id),
      [exporter.config.id],
    )
    assert.equal(manager.state(enricher.config.id)?.status, 'pending')
    assert.equal(await setups(enricher.plugin.id), 0)
  })

  it('runs processEvent in the ingest step without setting up an export-only plugin, which is still listed as deferred', async () => {
    const exporter = await install('exporter', EXPORTER)
    const enricher = await install('enricher', ENRICHER)
    const { manager, services } = await start()
    const step = processEventStep(manager, { pool: db.pool, logs: services.logs, metrics: createPluginChainMetrics(ctx!.registry) })
    const now = new Date().toISOString()
    const [out] = await step.run([
      {
        uuid: randomUUID(),
        team_id: team.id,
        event: '$pageview',
        distinct_id: 'u',
        properties: {},
        timestamp: now,
        now,
        sent_at: null,
        ip: null,
        site_url: '',
      },
    ])
    assert.deepEqual(out.properties.$plugins_succeeded, [`enricher (${enricher.config.id})`])
    assert.deepEqual(out.properties.$plugins_deferred, [`exporter (${exporter.config.id})`])
    assert.equal(manager.state(exporter.config.id)?.status, 'pending')
    assert.equal(await setups(exporter.plugin.id), 0)
    assert.equal(await setups(enricher.plugin.id), 1)
  })

  it('refuses to trigger a job the config’s version does not export, naming the jobs it does, and enqueues one it does', async () => {
    const { config } = await install('everything', EVERYTHING)
    await assert.rejects(triggerJob(management, { pluginConfigId: config.id, jobName: 'nope', payload: {} }, REDIS_LIMITS), {
      message: 'plugin everything exports no job "nope" (jobs: backfill, sync)',
    })
    const triggered = await triggerJob(management, { pluginConfigId: config.id, jobName: 'sync', payload: {} }, REDIS_LIMITS)
    assert.equal(triggered.name, 'sync')
  })

  it('learns a version installed before capabilities were recorded on its first load, and records it for the other processes', async () => {
    const exporter = await install('exporter', EXPORTER)
    await db.pool.query('UPDATE plugin_versions SET capabilities = NULL')
    const { manager } = await start()
    assert.equal(manager.capabilitiesOf(exporter.config.id), null)
    assert.equal(await manager.teamHas(team.id, ['onEvent']), true, 'unknown exports are learned by loading, as before')
    assert.deepEqual(manager.capabilitiesOf(exporter.config.id)?.methods, ['onEvent', 'runEveryHour', 'setupPlugin'])
    const recorded = await eventually(
      'capabilities recorded',
      () => capabilitiesRow(exporter.plugin.id),
      (row) => row !== null,
    )
    assert.deepEqual(recorded, { methods: ['onEvent', 'runEveryHour', 'setupPlugin'], jobs: [], publicJobs: [], buffersExports: false })
  })
})
