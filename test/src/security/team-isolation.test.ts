import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Redis from 'ioredis'
import { createIngestQueue, createPluginJobsQueue } from '@plugin-server/core'
import { createTeam, Team } from '@plugin-server/db'
import { ActiveConfig, PluginRuntime } from '@plugin-server/plugin-runtime'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import type { PluginEvent } from '@plugin-server/plugin-vm'
import { eventually } from '../harness/fleet'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'
import { FIXTURES } from '../harness/plugins'

/**
 * Two teams run the same plugin in one worker. Team B's plugin tries to reach team A's data
 * through every meta member and the posthog global; it must only ever see its own.
 */
describe('security: plugin isolation between teams', function () {
  this.timeout(60_000)
  let fx: PluginRuntimeFixture
  let runtime: PluginRuntime
  let teamB: Team
  let configA: number
  let configB: number
  let pluginId: number
  let redis: Redis
  let apiServer: http.Server
  const apiRequests: { url: string; authorization?: string }[] = []

  before(async () => {
    apiServer = http.createServer((req, res) => {
      apiRequests.push({ url: req.url ?? '', authorization: req.headers.authorization })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[]}')
    })
    await new Promise<void>((resolve) => apiServer.listen(0, '127.0.0.1', resolve))
    fx = await pluginRuntimeFixture({
      // Nothing private allowed: the probe's own-host posthog.api call must be refused.
      PLUGIN_FETCH_ALLOWED_HOSTS: '',
      POSTHOG_API_HOST: `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}`,
      POSTHOG_PERSONAL_API_KEY: 'phx_operator_key',
    })
    teamB = await createTeam(fx.db.pool, 'b')
    const installed = await installPluginFromPath(fx.management, `${FIXTURES}/security-team-probe`)
    pluginId = installed.plugin.id
    const attachment = (text: string) => [{ key: 'file', file_name: 'f.txt', content_type: 'text/plain', contents: Buffer.from(text) }]
    configA = (
      await createConfig(fx.management, {
        teamId: fx.team.id,
        plugin: pluginId,
        config: { team: 'A' },
        attachments: attachment('attachment of A'),
        enabled: true,
      })
    ).id
    configB = (
      await createConfig(fx.management, {
        teamId: teamB.id,
        plugin: pluginId,
        config: { team: 'B' },
        attachments: attachment('attachment of B'),
        enabled: true,
      })
    ).id
    runtime = await fx.start()
    redis = new Redis(process.env.REDIS_URL!)
  })
  after(async () => {
    redis?.disconnect()
    await fx.close()
    await new Promise<void>((resolve) => apiServer.close(() => resolve()))
  })

  async function run(configId: number, event: PluginEvent): Promise<PluginEvent> {
    const active = (await runtime.manager.config(configId)) as ActiveConfig
    assert.ok(active, `config ${configId} is set up`)
    const [result] = await active.use((instance) => instance.processEventBatch([event]))
    assert.ok(result.ok, JSON.stringify(result))
    return result.event as PluginEvent
  }

  it("cannot read another team's cache, storage, global, attachments or config, whatever key it names", async () => {
    await run(configA, { event: 'plant', properties: { value: 'secret of A' } })
    const prefix = fx.prefix
    const keys = [
      'planted',
      'planted-list',
      '../planted',
      `../${fx.team.id}/planted`,
      `../../${pluginId}/${fx.team.id}/planted`,
      `${prefix}:cache:${pluginId}:${fx.team.id}:planted`,
      `:cache:${pluginId}:${fx.team.id}:planted`,
      `${fx.team.id}:planted`,
      '*',
      'planted\r\nGET planted',
      "planted' OR '1'='1",
      '%',
      `plugin_config:${configA}:planted`,
    ]
    const fromB = await run(configB, { event: 'probe', properties: { keys } })
    const found = (fromB.properties as { found: Record<string, unknown> }).found
    const leaks = Object.entries(found).filter(([, v]) => JSON.stringify(v).includes('of A'))
    assert.deepEqual(leaks, [], 'team B saw team A data')
    assert.deepEqual(found.config, { team: 'B' })
    assert.deepEqual(found.attachments, { file: 'attachment of B' })
    assert.equal(found.global, null)

    // Sanity: A reads its own data through the same calls.
    const fromA = await run(configA, { event: 'probe', properties: { keys: ['planted', 'planted-list'] } })
    const own = (fromA.properties as { found: Record<string, unknown> }).found
    assert.equal(own['cache.get planted'], 'secret of A')
    assert.deepEqual(own['cache.lrange planted-list'], ['secret of A'])
    assert.equal(own['storage.get planted'], 'secret of A')
    assert.equal(own.global, 'secret of A')
    assert.deepEqual(own.attachments, { file: 'attachment of A' })
  })

  it('captures into its own team, whatever team or token it puts in the properties', async () => {
    await run(configB, { event: 'capture-as', properties: { otherTeam: fx.team.id, otherToken: fx.team.api_token } })
    const queue = createIngestQueue(redis, { queuePrefix: fx.prefix, ingest: { attempts: 1 } })
    try {
      const events = await eventually(
        'captured event enqueued',
        async () => {
          const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed'])
          return jobs.flatMap((j) => j.data.events).filter((e) => e.event === 'captured-as-other')
        },
        (list) => list.length === 1,
      )
      assert.equal(events[0].team_id, teamB.id)
      assert.equal(events[0].properties.$plugin_config_id, configB)
    } finally {
      await queue.close()
    }
  })

  it('enqueues jobs for its own config, whatever the payload claims', async () => {
    await run(configB, { event: 'job-as', properties: { otherTeam: fx.team.id, otherConfig: configA } })
    const queue = createPluginJobsQueue(redis, { queuePrefix: fx.prefix })
    try {
      const jobs = await eventually(
        'job enqueued',
        async () => (await queue.getJobs(['waiting', 'delayed', 'active'])).filter((j) => j.data.name === 'probe'),
        (l) => l.length === 1,
      )
      assert.equal(jobs[0].data.teamId, teamB.id)
      assert.equal(jobs[0].data.pluginConfigId, configB)
      assert.deepEqual(jobs[0].data.payload, { teamId: fx.team.id, pluginConfigId: configA, team_id: fx.team.id })
    } finally {
      await queue.close()
    }
  })

  it("writes logs only to its own config and team, and sees only its own team's events", async () => {
    await run(configB, { event: 'probe', properties: { keys: [] } })
    await runtime.services.logs.flush()
    const rows = await eventually(
      'probe log written',
      async () =>
        (
          await fx.db.pool.query<{ team_id: number; plugin_config_id: number; message: string }>(
            "SELECT team_id, plugin_config_id, message FROM plugin_log_entries WHERE message LIKE 'probe from team %'",
          )
        ).rows,
      (r) => r.some((x) => x.message === 'probe from team B'),
    )
    for (const row of rows) {
      assert.equal(row.plugin_config_id, row.message.endsWith('A') ? configA : configB)
      assert.equal(row.team_id, row.message.endsWith('A') ? fx.team.id : teamB.id)
    }
    // The ingest chain asks the manager for one team's configs: the other team's plugin never gets the event.
    assert.deepEqual(
      (await runtime.manager.teamConfigs(fx.team.id)).map((c) => c.record.id),
      [configA],
    )
    assert.deepEqual(
      (await runtime.manager.teamConfigs(teamB.id)).map((c) => c.record.id),
      [configB],
    )
  })

  it("posthog.api uses its own project's token by default, and a plugin-named host gets neither the operator's key nor a private address", async () => {
    const out = await run(configB, { event: 'api-as', properties: { otherToken: fx.team.api_token, foreignHost: 'http://127.0.0.1:9' } })
    const results = (out.properties as { results: Record<string, unknown> }).results
    // The plugin may name another project's token; the call still goes to the operator's PostHog
    // host (not to this server), which decides with the personal API key what it may read.
    assert.equal(results.defaultHost, 200)
    assert.match(apiRequests[0].url, new RegExp(`token=${fx.team.api_token}`))
    assert.equal(apiRequests[0].authorization, 'Bearer phx_operator_key')
    assert.match(String(results.ownHostNoKey), /a host other than POSTHOG_API_HOST needs its own personalApiKey/)
    assert.match(String(results.ownHostWithKey), /fetch refused: 127\.0\.0\.1 is a loopback address/)
    assert.equal(apiRequests.length, 1)

    await run(configB, { event: 'api-as', properties: { foreignHost: 'http://127.0.0.1:9' } })
    assert.match(apiRequests[1].url, new RegExp(`token=${teamB.api_token}`))
  })
})
