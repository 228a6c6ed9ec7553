import { randomUUID } from 'node:crypto'
import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { addDays, createEventsPartition, utcDayStart } from '@plugin-server/db'
import { admitPending, exportKeys } from '@plugin-server/export'
import { RedisPluginCache, RedisPluginCursor, TeamRedisAccount } from '@plugin-server/plugin-runtime'

const MiB = 1024 * 1024

/** What a team was given by fillTeam, to find it again. */
export interface FilledTeam {
  teamId: number
  configId: number
  pluginId: number
}

/**
 * A team as a running fleet leaves one: a config of its own plugin, an admin token, 3 events today
 * and 3 yesterday (two daily partitions), 2 plugin log rows, and in Redis a cache key and cursors
 * held by its account, and delivery jobs counted in its and the fleet's pending exports.
 */
export async function fillTeam(pool: Pool, redis: Redis, prefix: string, teamId: number): Promise<FilledTeam> {
  const plugin = await pool.query<{ id: number }>(`INSERT INTO plugins (name, plugin_json, content_hash) VALUES ($1, '{}', 'h') RETURNING id`, [
    `p-${randomUUID()}`,
  ])
  const pluginId = plugin.rows[0].id
  const config = await pool.query<{ id: number }>(`INSERT INTO plugin_configs (team_id, plugin_id) VALUES ($1, $2) RETURNING id`, [teamId, pluginId])
  const configId = config.rows[0].id
  await pool.query(`INSERT INTO team_admin_tokens (team_id, name, token_hash) VALUES ($1, 'ops', $2)`, [teamId, randomUUID()])
  const today = utcDayStart(new Date())
  for (const day of [addDays(today, -1), today]) {
    await createEventsPartition(pool, day)
    await pool.query(
      `INSERT INTO events (uuid, team_id, event, distinct_id, timestamp)
       SELECT gen_random_uuid(), $1, 'pageview', 'user', $2::timestamptz + i * interval '1 minute' FROM generate_series(1, 3) i`,
      [teamId, day],
    )
  }
  for (const message of ['started', 'stopped']) {
    await pool.query(
      `INSERT INTO plugin_log_entries (team_id, plugin_id, plugin_config_id, source, type, message, instance_id) VALUES ($1, $2, $3, 'PLUGIN', 'INFO', $4, 'test')`,
      [teamId, pluginId, configId, message],
    )
  }
  const account = new TeamRedisAccount(redis, prefix, teamId, 2 * MiB)
  await new RedisPluginCache(redis, prefix, pluginId, account).set('big', 'x'.repeat(50_000))
  const cursor = new RedisPluginCursor(redis, prefix, configId, account)
  for (let i = 0; i < 3; i++) await cursor.init(`page-${i}`, i)
  const keys = exportKeys(prefix)
  await admitPending(redis, prefix, keys, { configId, teamId }, { config: 0, team: 0, fleet: 0 }, [{ jobId: `delivery-${configId}`, events: 12 }])
  return { teamId, configId, pluginId }
}

/** Rows a team has in each table keyed by team_id, and in how many events partitions. */
export async function teamRows(pool: Pool, teamId: number): Promise<Record<string, number>> {
  const count = async (sql: string) => Number((await pool.query<{ n: string }>(sql, [teamId])).rows[0].n)
  return {
    teams: await count('SELECT count(*) AS n FROM teams WHERE id = $1'),
    configs: await count('SELECT count(*) AS n FROM plugin_configs WHERE team_id = $1'),
    tokens: await count('SELECT count(*) AS n FROM team_admin_tokens WHERE team_id = $1'),
    events: await count('SELECT count(*) AS n FROM events WHERE team_id = $1'),
    event_partitions: await count('SELECT count(DISTINCT tableoid) AS n FROM events WHERE team_id = $1'),
    log_rows: await count('SELECT count(*) AS n FROM plugin_log_entries WHERE team_id = $1'),
  }
}

/** Every Redis key of the team's: its account, cache keys, cursors, export counts and line of waiting jobs. */
export async function teamRedisKeys(redis: Redis, prefix: string, team: FilledTeam): Promise<string[]> {
  const patterns = [
    `redis-account:${team.teamId}:*`,
    `cache:${team.pluginId}:${team.teamId}:*`,
    `cursor:${team.configId}:*`,
    `export:team-*:${team.teamId}`,
    `export:pending-rechecked:team:${team.teamId}`,
    `export:*:${team.configId}`,
    `plugin-jobs-waiting:${team.teamId}`,
  ]
  return (await Promise.all(patterns.map((p) => redis.keys(`${prefix}:${p}`)))).flat().sort()
}

/** What the fleet's totals say every team holds: Redis bytes and pending export events (buffered ones: the buffer test in delete-team.test.ts). */
export async function fleetTotals(redis: Redis, prefix: string): Promise<{ redis_bytes: number; pending_events: number; pending_jobs: number }> {
  const keys = exportKeys(prefix)
  return {
    redis_bytes: Number((await redis.get(`${prefix}:redis-account:fleet-total`)) ?? 0),
    pending_events: Number((await redis.get(keys.fleetPendingEventsTotal())) ?? 0),
    pending_jobs: await redis.hlen(keys.fleetPendingEvents()),
  }
}
