import { once } from 'node:events'
import type { Config, Logger } from '@plugin-server/core'
import type Redis from 'ioredis'
import { ANSWER_TIMEOUT_MS, ClosedServices, closeToPlugins, FLEET_SERVICES_RECHECK_MS, type FleetService } from '@plugin-server/plugin-vm'

/**
 * The fleet's own services no plugin may reach, whatever PLUGIN_FETCH_ALLOWED_HOSTS allows: its Redis
 * (REDIS_URL), which answers any line as a command and commonly has no password, and this process's
 * metrics port (METRICS_PORT: /metrics names every team's configs and their counts). Postgres is not
 * closed: a plugin cannot log in without the fleet's password (never given to plugins), and a team's
 * warehouse may be another database on the same server.
 */
export function fleetServices(config: Pick<Config, 'redisUrl'>, metricsPort?: number, redis?: Redis): FleetService[] {
  const url = new URL(config.redisUrl)
  const services: FleetService[] = [
    {
      // An empty host is ioredis' localhost.
      host: url.hostname || 'localhost',
      port: Number(url.port || 6379),
      name: "the fleet's own Redis (REDIS_URL)",
      // Its own address, which a proxy or a Kubernetes Service's cluster IP hides from its name.
      // Asked only while connected: ioredis would queue one more every refresh of an outage. Its
      // 'ready' asks again (closeFleetServices).
      discover: redis && (async () => (redis.status === 'ready' ? redisOwnAddress(await redis.client('INFO')) : [])),
    },
  ]
  if (metricsPort !== undefined) services.push({ host: '127.0.0.1', port: metricsPort, name: "this process's health and metrics port (METRICS_PORT)" })
  return services
}

/** The `laddr` of a `CLIENT INFO` answer (Redis 6.2+): the address and port the server took this connection on. */
export function redisOwnAddress(clientInfo: unknown): string[] {
  const laddr = /(?:^| )laddr=(\S+)/.exec(String(clientInfo))
  return laddr ? [laddr[1]] : []
}

/**
 * The fleet's services, closed to every plugin given the answer (stop it at shutdown). A host no
 * lookup answers is closed by name only until one does: said once, on `logger`.
 */
export async function closeFleetServices(
  config: Pick<Config, 'redisUrl'>,
  options: { metricsPort?: number; logger?: Logger; redis?: Redis } = {},
): Promise<ClosedServices> {
  const { metricsPort, logger, redis } = options
  // A connection just opened: where Redis is is asked once it is ready, not at the first refresh's 'connecting'.
  if (redis && redis.status !== 'ready') await once(redis, 'ready', { signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) }).catch(() => undefined)
  const closed = await closeToPlugins(fleetServices(config, metricsPort, redis))
  // After a reconnect (a failover, a new pod behind the Service) at once, not at the next refresh.
  redis?.on('ready', () => void closed.recheck())
  const every = `looked up again every ${FLEET_SERVICES_RECHECK_MS / 1000} s`
  for (const { host, port, name } of closed.unresolved()) {
    logger?.warn({ host, port }, `${name}: ${host} did not resolve, so plugins are refused it by that name only until it does (${every})`)
  }
  for (const { host, port, name } of closed.undiscovered()) {
    logger?.warn(
      { host, port },
      `${name} did not say where it is (CLIENT INFO's laddr: Redis before 6.2, an ACL without CLIENT, a proxy), so behind a proxy or a Kubernetes Service its own address is open to plugins that PLUGIN_FETCH_ALLOWED_HOSTS lets reach it, until it does (${every} and at each reconnect)`,
    )
  }
  return closed
}
