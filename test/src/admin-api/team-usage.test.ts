import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { RedisPluginCache, TeamRedisAccount } from '@plugin-server/plugin-runtime'
import { AdminFleet, startAdminFleet } from './admin-fleet'

const MiB = 1024 * 1024

describe('GET /api/teams/:teamId/usage', function () {
  this.timeout(60_000)
  let f: AdminFleet
  let redis: Redis

  before(async () => {
    f = await startAdminFleet(['capture'], { PLUGIN_TEAM_REDIS_LIMIT_MB: '3', PLUGIN_TEAM_STORAGE_LIMIT_MB: '5' })
    redis = new Redis(process.env.REDIS_URL!)
  })
  after(async () => {
    redis.disconnect()
    await f.close()
  })

  it("answers what the team's plugins hold in Redis, in storage and in export deliveries waiting against the capture process's limits, to the team's own token", async () => {
    const prefix = f.fleet.env.QUEUE_PREFIX
    const cache = new RedisPluginCache(redis, prefix, 1, new TeamRedisAccount(redis, prefix, f.fleet.team.id, 3 * MiB))
    await cache.set('held', 'x'.repeat(10_000))
    const total = Number(await redis.get(`${prefix}:redis-account:${f.fleet.team.id}:total`))
    const usage = await f.ok('GET', `/api/teams/${f.fleet.team.id}/usage`, undefined, 200, f.teamToken)
    assert.deepEqual(usage, {
      team_id: f.fleet.team.id,
      redis: { bytes: total, limit_bytes: 3 * MiB, keys_and_jobs: 1 },
      storage: { bytes: 0, limit_bytes: 5 * MiB },
      exports: { pending_events: 0, limit_events: 400_000 },
    })
    assert.ok(total > 10_000)
    assert.equal((await f.call('GET', `/api/teams/${f.fleet.team.id}/usage`, undefined, f.other.token)).status, 403, "another team's token is refused")
  })
})
