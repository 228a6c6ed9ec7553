import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { Registry } from 'prom-client'
import { createTeam } from '@plugin-server/db'
import { PostgresPluginStorage, RedisPluginCache, TeamRedisAccount } from '@plugin-server/plugin-runtime'
import { registerTeamUsageGauges } from '@plugin-server/scheduling'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'

const MiB = 1024 * 1024
const LIMITS = { redis: 8 * MiB, storage: 16 * MiB }

describe('team usage gauges (read at every scheduler /metrics scrape)', () => {
  let db: TestDatabase
  let redis: Redis

  before(async () => {
    db = await createTestDatabase()
    redis = new Redis(process.env.REDIS_URL!)
  })
  after(async () => {
    redis.disconnect()
    await db.drop()
  })

  it("report what each team's plugins hold in Redis and in storage, beside the limits, for the teams that hold something", async () => {
    const prefix = testQueuePrefix()
    const [cacher, keeper, idle] = [await createTeam(db.pool, 'cacher'), await createTeam(db.pool, 'keeper'), await createTeam(db.pool, 'idle')]
    const plugin = await db.pool.query<{ id: number }>(`INSERT INTO plugins (name, plugin_json, content_hash) VALUES ('p', '{}', 'h') RETURNING id`)
    const config = async (team: number) =>
      (await db.pool.query<{ id: number }>(`INSERT INTO plugin_configs (team_id, plugin_id) VALUES ($1, $2) RETURNING id`, [team, plugin.rows[0].id])).rows[0]
        .id
    await config(cacher.id)
    const keeperConfig = await config(keeper.id)
    await config(idle.id)
    await new RedisPluginCache(redis, prefix, plugin.rows[0].id, new TeamRedisAccount(redis, prefix, cacher.id, LIMITS.redis)).set('k', 'x'.repeat(50_000))
    await new PostgresPluginStorage(db.pool, keeperConfig, keeper.id, LIMITS.storage).set('cursor', 'y'.repeat(30_000))

    const registry = new Registry()
    registerTeamUsageGauges(registry, redis, db.pool, prefix, LIMITS)
    const text = await registry.metrics()
    const account = Number(await redis.get(`${prefix}:redis-account:${cacher.id}:total`))
    assert.ok(account > 50_000)
    assert.match(text, new RegExp(`^plugin_team_redis_bytes\\{team_id="${cacher.id}"\\} ${account}$`, 'm'))
    assert.match(text, new RegExp(`^plugin_team_storage_bytes\\{team_id="${keeper.id}"\\} ${'cursor'.length + 30_002 + 64}$`, 'm'))
    assert.doesNotMatch(text, new RegExp(`team_id="${idle.id}"`), 'a team holding nothing has no series')
    assert.match(text, new RegExp(`^plugin_team_redis_limit_bytes ${LIMITS.redis}$`, 'm'))
    assert.match(text, new RegExp(`^plugin_team_storage_limit_bytes ${LIMITS.storage}$`, 'm'))
  })

  it('answer a scrape without them when Redis does not, instead of holding /metrics until it returns', async () => {
    const offline = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: () => 1000 })
    offline.on('error', () => undefined)
    try {
      const registry = new Registry()
      registerTeamUsageGauges(registry, offline, db.pool, testQueuePrefix(), LIMITS)
      const started = Date.now()
      const text = await registry.metrics()
      assert.ok(Date.now() - started < 10_000, `the scrape took ${Date.now() - started} ms`)
      assert.ok(!text.includes('plugin_team_redis_bytes{'))
      assert.match(await registry.getSingleMetricAsString('plugin_team_usage_read_errors_total'), /_total 1/)
    } finally {
      offline.disconnect()
    }
  })
})
