import { Counter, Registry } from 'prom-client'

// One counter per registry, however many hosts (one per config) share it.
const byRegistry = new WeakMap<Registry, Counter<'team_id' | 'kind'>>()

/**
 * `plugin_team_redis_refused_total{team_id, kind}`: plugin writes refused because their team's plugins held
 * PLUGIN_TEAM_REDIS_LIMIT_MB of Redis (kind: cache, cursor, jobs). The plugin gets the error; this
 * is how an operator sees that a team is at its limit (only teams that were ever refused have a series).
 */
export function teamRedisRefusals(registry: Registry): Counter<'team_id' | 'kind'> {
  let counter = byRegistry.get(registry)
  if (!counter) {
    counter = new Counter({
      name: 'plugin_team_redis_refused_total',
      help: "Plugin writes (cache, cursor) and jobs refused because their team's plugins held PLUGIN_TEAM_REDIS_LIMIT_MB of Redis",
      labelNames: ['team_id', 'kind'],
      registers: [registry],
    })
    byRegistry.set(registry, counter)
  }
  return counter
}
