import type Redis from 'ioredis'
import type { Pool } from 'pg'
import { Counter, Gauge, Registry } from 'prom-client'
import { redisKeys, sharedScrape } from '@plugin-server/core'
import { readTeamsStorageBytes } from '@plugin-server/db'

/** A scrape waits this long for Redis and Postgres; past it the gauges are left empty and the miss counted. */
const READ_TIMEOUT_MS = 2000

export interface TeamUsageLimitBytes {
  redis: number
  storage: number
}

/**
 * How close each team is to its limits, so an operator sees it coming before its plugins' writes are
 * refused: what its plugins hold in Redis (the account PLUGIN_TEAM_REDIS_LIMIT_MB counts) and in
 * `meta.storage` (PLUGIN_TEAM_STORAGE_LIMIT_MB), beside the two limits. Read at scrape, for every team
 * with a plugin config and only where it holds something; fleet state, so every scheduler replica
 * reports the same values (dashboards and alerts take max()). One series per such team: the
 * scheduler has few replicas, which is why it, and not the workers, reports them.
 */
export function registerTeamUsageGauges(registry: Registry, redis: Redis, pool: Pool, prefix: string, limits: TeamUsageLimitBytes): void {
  const keys = redisKeys(prefix)
  const errors = new Counter({
    name: 'plugin_team_usage_read_errors_total',
    help: 'Scrapes at which the team usage gauges could not be read from Redis or Postgres',
    registers: [registry],
  })
  // One read serves both; a slow Postgres gets one GROUP BY at a time, not one per scrape.
  const shared = sharedScrape(
    () => collect(),
    READ_TIMEOUT_MS,
    () => {
      redisBytes.reset()
      storageBytes.reset()
      errors.inc()
    },
  )
  const perTeam = (name: string, help: string) => new Gauge({ name, help, labelNames: ['team_id'], registers: [registry], collect: shared })
  const redisBytes = perTeam(
    'plugin_team_redis_bytes',
    "What a team's plugins hold in Redis (cache keys, cursors, pending jobs), against PLUGIN_TEAM_REDIS_LIMIT_MB",
  )
  const storageBytes = perTeam('plugin_team_storage_bytes', "What a team's plugins keep in meta.storage, against PLUGIN_TEAM_STORAGE_LIMIT_MB")
  const limit = (name: string, help: string, bytes: number) => new Gauge({ name, help, registers: [registry] }).set(bytes)
  limit('plugin_team_redis_limit_bytes', 'PLUGIN_TEAM_REDIS_LIMIT_MB, in bytes', limits.redis)
  limit('plugin_team_storage_limit_bytes', 'PLUGIN_TEAM_STORAGE_LIMIT_MB, in bytes', limits.storage)

  const collect = async () => {
    const teams = await readTeamsStorageBytes(pool)
    const held = teams.length === 0 ? [] : await redis.mget(teams.map((t) => keys.pluginRedisAccount(t.teamId).total))
    redisBytes.reset()
    storageBytes.reset()
    teams.forEach(({ teamId, bytes }, i) => {
      const labels = { team_id: String(teamId) }
      const inRedis = Number(held[i] ?? 0)
      if (inRedis > 0) redisBytes.set(labels, inRedis)
      if (bytes > 0) storageBytes.set(labels, bytes)
    })
  }
}
