import type { Config } from '@plugin-server/core'
import { ClosedServices, closeToPlugins, type FleetService } from '@plugin-server/plugin-vm'

/**
 * The fleet's own services no plugin may reach, whatever PLUGIN_FETCH_ALLOWED_HOSTS allows: its Redis
 * (REDIS_URL), which answers any line as a command and commonly has no password. Postgres is not
 * closed: a plugin cannot log in without the fleet's password (never given to plugins), and a team's
 * warehouse may be another database on the same server.
 */
export function fleetServices(config: Pick<Config, 'redisUrl'>): FleetService[] {
  const redis = new URL(config.redisUrl)
  // An empty host is ioredis' localhost.
  return [{ host: redis.hostname || 'localhost', port: Number(redis.port || 6379), name: "the fleet's own Redis (REDIS_URL)" }]
}

/** The fleet's services, closed to every plugin given the answer (stop it at shutdown). */
export function closeFleetServices(config: Pick<Config, 'redisUrl'>): Promise<ClosedServices> {
  return closeToPlugins(fleetServices(config))
}
