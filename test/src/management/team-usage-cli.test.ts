import assert from 'node:assert/strict'
import { admitPending, exportKeys } from '@plugin-server/export'
import { PostgresPluginStorage, RedisPluginCache, TeamRedisAccount } from '@plugin-server/plugin-runtime'
import type { TeamUsage } from '@plugin-server/admin-contract'
import { runCli } from '../harness/processes'
import { cliEnv, createTeamRow, ManagementHarness, startManagement } from './management-fixture'

const MiB = 1024 * 1024

describe('plugin-server team usage (CLI)', () => {
  let h: ManagementHarness
  let env: Record<string, string>

  before(async () => {
    h = await startManagement()
    env = cliEnv(h, { PLUGIN_TEAM_REDIS_LIMIT_MB: '2', PLUGIN_TEAM_STORAGE_LIMIT_MB: '3', EXPORT_TEAM_MAX_PENDING_EVENTS: '500' })
  })
  after(() => h.close())

  it("prints what a team's plugins hold in Redis, in meta.storage and in export deliveries waiting, as the limits count it, beside the limits", async () => {
    const teamId = await createTeamRow(h, 'acme')
    const other = await createTeamRow(h, 'other')
    const plugin = await h.db.pool.query<{ id: number }>(`INSERT INTO plugins (name, plugin_json, content_hash) VALUES ('p', '{}', 'h') RETURNING id`)
    const config = async (team: number) =>
      (await h.db.pool.query<{ id: number }>(`INSERT INTO plugin_configs (team_id, plugin_id) VALUES ($1, $2) RETURNING id`, [team, plugin.rows[0].id])).rows[0]
        .id
    const [configId, otherConfigId] = [await config(teamId), await config(other)]
    const cache = new RedisPluginCache(h.ctx.redis, h.ctx.queuePrefix, plugin.rows[0].id, new TeamRedisAccount(h.ctx.redis, h.ctx.queuePrefix, teamId, 2 * MiB))
    await cache.set('a', 'x'.repeat(100_000))
    await cache.incr('counted')
    await new PostgresPluginStorage(h.db.pool, configId, teamId, 3 * MiB).set('cursor', 'y'.repeat(50_000))
    await new PostgresPluginStorage(h.db.pool, otherConfigId, other, 3 * MiB).set('theirs', 'z'.repeat(70_000))
    // Delivery jobs as an exporter counts them: 12 events of the team's, 30 of the other team's.
    const keys = exportKeys(h.ctx.queuePrefix)
    const admit = (owner: { configId: number; teamId: number }, jobId: string, events: number) =>
      admitPending(h.ctx.redis, h.ctx.queuePrefix, keys, owner, { config: 0, team: 0, fleet: 0 }, [{ jobId, events }])
    await admit({ configId, teamId }, 'ours', 12)
    await admit({ configId: otherConfigId, teamId: other }, 'theirs', 30)
    // And 5 buffered for a config's exportEvents, which the team's limit counts too.
    await h.ctx.redis.set(keys.teamBufferedEvents(teamId), 5)

    const result = await runCli(['team', 'usage', String(teamId)], env)
    assert.equal(result.code, 0, result.stderr)
    const usage = JSON.parse(result.stdout) as TeamUsage
    const total = Number(await h.ctx.redis.get(`${h.ctx.queuePrefix}:redis-account:${teamId}:total`))
    assert.deepEqual(usage, {
      team_id: teamId,
      redis: { bytes: total, limit_bytes: 2 * MiB, keys_and_jobs: 2 },
      storage: { bytes: 'cursor'.length + '"'.length * 2 + 50_000 + 64, limit_bytes: 3 * MiB },
      exports: { pending_events: 17, limit_events: 500 },
    })
    assert.ok(total > 100_000 && total < 101_000, `Redis account total ${total}`)

    const missing = await runCli(['team', 'usage', '999999'], env)
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /team 999999 not found/)
  })
})
