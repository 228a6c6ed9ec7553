import type { Config, Logger } from '@plugin-server/core'
import { ClosedServices, closeToPlugins, FLEET_SERVICES_RECHECK_MS, type FleetService } from '@plugin-server/plugin-vm'

/**
 * The fleet's own services no plugin may reach, whatever PLUGIN_FETCH_ALLOWED_HOSTS allows: its Redis
 * (REDIS_URL), which answers any line as a command and commonly has no password, and this process's
 * metrics port (METRICS_PORT: /metrics names every team's configs and their counts). Postgres is not
 * closed: a plugin cannot log in without the fleet's password (never given to plugins), and a team's
 * warehouse may be another database on the same server.
 */
export function fleetServices(config: Pick<Config, 'redisUrl'>, metricsPort?: number): FleetService[] {
  const redis = new URL(config.redisUrl)
  // An empty host is ioredis' localhost.
  const services = [{ host: redis.hostname || 'localhost', port: Number(redis.port || 6379), name: "the fleet's own Redis (REDIS_URL)" }]
  if (metricsPort !== undefined) services.push({ host: '127.0.0.1', port: metricsPort, name: "this process's health and metrics port (METRICS_PORT)" })
  return services
}

/**
 * The fleet's services, closed to every plugin given the answer (stop it at shutdown). A host no
 * lookup answers is closed by name only until one does: said once, on `logger`.
 */
export async function closeFleetServices(config: Pick<Config, 'redisUrl'>, metricsPort?: number, logger?: Logger): Promise<ClosedServices> {
  const closed = await closeToPlugins(fleetServices(config, metricsPort))
  for (const { host, port, name } of closed.unresolved()) {
    logger?.warn(
      { host, port },
      `${name}: ${host} did not resolve, so plugins are refused it by that name only until it does (looked up again every ${FLEET_SERVICES_RECHECK_MS / 1000} s)`,
    )
  }
  return closed
}
