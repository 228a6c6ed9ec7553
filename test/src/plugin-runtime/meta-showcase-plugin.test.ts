import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import pino from 'pino'
import type { IngestEvent } from '@plugin-server/core'
import { createTeam, Team } from '@plugin-server/db'
import { createPluginChainMetrics, processEventStep } from '@plugin-server/ingestion'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { PluginRuntime, readMetrics, startPluginRuntime } from '@plugin-server/plugin-runtime'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { FIXTURES, managementContext } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'
import path from 'node:path'

const SECRET = 'sk_live_SHOWCASE_5ecret'

describe("a real plugin's behaviour with cache, storage, attachments, geoip and metrics together (meta-showcase fixture)", function () {
  this.timeout(60_000)
  let db: TestDatabase
  let team: Team
  let prefix: string
  let ctx: ReturnType<typeof testRoleContext>
  let runtime: PluginRuntime
  const logged: string[] = []

  before(async () => {
    db = await createTestDatabase()
    team = await createTeam(db.pool, 'a')
    prefix = testQueuePrefix()
    ctx = testRoleContext('ingest-worker', { DATABASE_URL: db.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'debug' })
    Object.assign(ctx, { logger: pino({ level: 'debug' }, { write: (line: string) => void logged.push(line) }) })
    const management = managementContext(db.pool, prefix)
    const installed = await installPluginFromPath(management, path.join(FIXTURES, 'meta-showcase'))
    await createConfig(management, {
      teamId: team.id,
      plugin: installed.plugin.id,
      enabled: true,
      config: { apiKey: SECRET },
      attachments: [{ key: 'blocklist', file_name: 'blocked.txt', content_type: 'text/plain', contents: Buffer.from('203.0.113.9\n198.51.100.7\n') }],
    })
    await management.close()
    runtime = await startPluginRuntime(ctx)
  })
  after(async () => {
    await runtime.manager.close()
    await runtime.services.logs.close()
    await ctx.close()
    await db.drop()
  })

  const event = (distinctId: string, ip: string | null): IngestEvent => {
    const now = new Date().toISOString()
    return {
      uuid: randomUUID(),
      team_id: team.id,
      event: '$pageview',
      distinct_id: distinctId,
      properties: {},
      timestamp: now,
      now,
      sent_at: null,
      ip,
      site_url: '',
    }
  }

  it('enriches, blocks, remembers and counts, with every meta member backed by the real services', async () => {
    const step = processEventStep(runtime.manager, { pool: db.pool, logs: runtime.services.logs, metrics: createPluginChainMetrics(ctx.registry) })
    const out = await step.run([event('anna', '89.160.20.128'), event('bob', '203.0.113.9'), event('carl', null)])
    assert.deepEqual(
      out.map((e) => e.properties.$is_first_event ?? false),
      [true, false, true],
    )
    assert.equal(out[0].properties.$country_code, 'SE', 'geoip')
    assert.equal(out[1].properties.$blocked_ip, true, 'attachment-driven blocklist')
    assert.deepEqual(out.map((e) => e.properties.$enricher_sequence ?? null).sort(), [1, 2, null], 'fleet-wide counter in the cache')
    const [again] = await step.run([event('anna', null)])
    assert.equal(again.properties.$is_first_event, undefined, 'the cache remembers across batches')
    assert.equal(again.properties.$enricher_sequence, 3)
    const configId = (await runtime.manager.teamConfigs(team.id))[0].record.id
    await eventually(
      'metrics',
      () => readMetrics(runtime.services.redis, prefix, configId),
      (m) => m.events_enriched === 3,
    )
    assert.deepEqual(await readMetrics(runtime.services.redis, prefix, configId), { events_enriched: 3, largest_batch_position: 3 })
    const { rows } = await db.pool.query(`SELECT key, value FROM plugin_storage WHERE plugin_config_id = $1 ORDER BY key`, [configId])
    assert.deepEqual(rows, [
      { key: 'last_event:anna', value: '$pageview' },
      { key: 'last_event:carl', value: '$pageview' },
      { key: 'setups', value: 1 },
    ])
    await runtime.services.logs.flush()
    const logs = await db.pool.query(`SELECT message FROM plugin_log_entries WHERE plugin_config_id = $1 AND source = 'CONSOLE'`, [configId])
    assert.deepEqual(
      logs.rows.map((r) => r.message),
      ['loaded 2 blocked IPs (key ends in …)'],
    )
    assert.ok(
      logged.some((l) => l.includes('loaded 2 blocked IPs')),
      'plugin console output reaches pino',
    )
    assert.ok(!logged.join('\n').includes(SECRET), 'the secret never reaches the logs')
  })
})
