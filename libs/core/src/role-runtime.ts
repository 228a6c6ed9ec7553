import { setTimeout as sleep } from 'node:timers/promises'
import type Redis from 'ioredis'
import type { RedisOptions } from 'ioredis'
import type { Registry } from 'prom-client'
import { Config, ConfigError, loadConfig } from './config'
import { installFatalHandlers } from './fatal-errors'
import { READINESS_CHECK_TIMEOUT_MS, ReadinessCheck, startHealthServer } from './health-server'
import type { Role } from './interfaces'
import { createLogger, Logger } from './logger'
import { createRegistry } from './metrics'
import { createPool, Pool } from './postgres'
import { PostgresProbe } from './postgres-probe'
import { registerPostgresPoolMetrics } from './postgres-pool-metrics'
import { monitoredQueues, registerQueueDepthMetrics } from './queue-depth-metrics'
import { ObservableWorker, observeQueueWorker, registerQueueWorkerMetrics } from './queue-worker-metrics'
import { createRedis } from './redis'
import { evictionPolicyProblem, REQUIRED_EVICTION_POLICY, watchEvictionPolicy } from './redis-eviction-policy'
import { Closer, installShutdown } from './shutdown'

export interface RoleContext {
  role: Role
  config: Config
  logger: Logger
  registry: Registry
  /**
   * Opens a new Redis connection on every call (closed at shutdown), so call it once per long-lived
   * user, never per request: BullMQ workers need one each because they block.
   */
  newRedisConnection: (purpose: string, options?: RedisOptions) => Redis
  /** Closes a connection newRedisConnection opened whose user has gone before shutdown (a scheduler shard handed on). */
  closeRedisConnection: (connection: Redis) => Promise<void>
  pool: () => Pool
  /** The port /healthz, /readyz and /metrics answer on (METRICS_PORT, the one picked for 0); absent when off. */
  metricsPort?: number
}

export interface RunningRole {
  /** In shutdown order: stop taking work first, then drain. Connections are closed after these. */
  closers: Closer[]
  checks?: ReadinessCheck[]
  /** BullMQ workers of the role: their finished jobs and durations are counted per queue. */
  workers?: ObservableWorker[]
  /**
   * On SIGTERM, how long the role keeps serving with /readyz failing before its closers run: for
   * capture, the time load balancers take to stop sending it requests once the pod is terminating.
   */
  shutdownDelayMs?: number
}

export interface StartedRole {
  context: RoleContext
  healthPort: number | null
  shutdown: () => Promise<void>
}

/**
 * The common life of every process: validated config, logger, metrics, health endpoints, connections
 * opened on demand and closed on SIGTERM after the role has drained.
 */
export async function runRole(role: Role, start: (ctx: RoleContext) => Promise<RunningRole>, env: NodeJS.ProcessEnv = process.env): Promise<StartedRole> {
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`plugin-server ${role}: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const logger = createLogger(config, { role })
  installFatalHandlers(logger)
  const registry = createRegistry(role)
  const connections = new Set<Redis>()
  let pool: Pool | null = null
  const context: RoleContext = {
    role,
    config,
    logger,
    registry,
    newRedisConnection: (purpose, options) => {
      const connection = createRedis(config.redisUrl, logger, `${role}:${purpose}`, options)
      connections.add(connection)
      return connection
    },
    closeRedisConnection: async (connection) => {
      if (!connections.delete(connection)) return
      await connection.quit().catch(() => connection.disconnect())
    },
    pool: () =>
      (pool ??= createPool(config.databaseUrl, config.pgPoolSize, logger, {
        applicationName: `plugin-server ${role}`,
        queryTimeoutMs: config.pgQueryTimeoutMs,
      })),
  }
  registerPostgresPoolMetrics(registry, () => pool, config.pgPoolSize)
  // Every role reports every queue's depth (fleet-wide, read at scrape time; see queue-depth-metrics).
  let depthRedis: Redis | null = null
  registerQueueDepthMetrics(
    registry,
    () => (depthRedis ??= context.newRedisConnection('queue-metrics')),
    config.queuePrefix,
    monitoredQueues(config.scheduler.shards),
  )
  // One connection for every probe, opened before the role starts (so it is up by the first probe):
  // probes come every few seconds for the life of the pod. Without an offline queue a ping while
  // Redis is away fails at once instead of piling up.
  const readinessRedis = context.newRedisConnection('readiness', { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
  // Not a refusal to start: a pod that exits on it crash-loops with the reason in its last log lines,
  // while failing readiness keeps the reason on /readyz, /metrics and the logs, drains what is queued
  // (workers go on), and clears by itself within an interval once the policy is fixed.
  const evictionPolicy = watchEvictionPolicy(readinessRedis, logger, registry, config.redisPolicyCheckIntervalMs)
  // Served while the role starts (a scheduler setting up 1 000 configs takes minutes): /healthz says
  // the process is alive for the startup probe, /readyz says it is not ready until start() returned.
  // Its own connection, not the pool's: a pool busy with the role's work is not Postgres failing to answer.
  const postgresProbe = new PostgresProbe(
    config.databaseUrl,
    { applicationName: `plugin-server ${role} readiness`, timeoutMs: READINESS_CHECK_TIMEOUT_MS },
    logger,
  )
  let running: RunningRole | null = null
  let stopping = false
  const checks: ReadinessCheck[] = [
    {
      name: 'shutdown',
      check: async () => {
        if (stopping) throw new Error(`${role} is shutting down`)
      },
    },
    {
      name: 'started',
      check: async () => {
        if (!running) throw new Error(`${role} is still starting`)
      },
    },
    { name: 'redis', check: async () => void (await readinessRedis.ping()) },
    {
      name: 'redis eviction policy',
      check: async () => {
        // Not read yet (Redis was away at start): read now, a probe comes every few seconds.
        if (evictionPolicy.policy() === null) await evictionPolicy.check()
        const problem = evictionPolicyProblem(evictionPolicy.policy() ?? REQUIRED_EVICTION_POLICY)
        if (problem) throw new Error(problem)
      },
    },
    { name: 'postgres', check: () => postgresProbe.check() },
  ]
  const health = config.metricsPort >= 0 ? await startHealthServer(config.metricsPort, registry, checks, logger) : null
  // Before start(): the roles that run plugins close it to them (plugin-runtime fleet-services.ts).
  if (health) context.metricsPort = health.port
  // Installed before start(): its BullMQ workers take jobs before it returns, and a SIGTERM then
  // must drain them, not kill the process. Such a signal waits (within the grace period) for the
  // closers start() returns; a start that failed leaves only the connections to close.
  let started!: (role: RunningRole | null) => void
  const closers = new Promise<Closer[]>((resolve) => {
    started = (role) =>
      resolve([
        { name: 'shutdown delay', close: () => ((stopping = true), sleep(role?.shutdownDelayMs ?? 0)) },
        ...(health ? [{ name: 'health server', close: health.close }] : []),
        ...(role?.closers ?? []),
        {
          name: 'redis',
          close: async () => {
            evictionPolicy.close()
            await Promise.all([...connections].map((c) => c.quit().catch(() => c.disconnect())))
          },
        },
        {
          name: 'postgres',
          close: async () => {
            await postgresProbe.close()
            await pool?.end()
          },
        },
      ])
  })
  const shutdown = installShutdown(logger, config.shutdownGraceMs, closers)
  try {
    running = await start(context)
  } catch (err) {
    started(null)
    throw err
  }
  started(running)
  if (running.workers?.length) registerQueueWorkerMetrics(registry)
  for (const worker of running.workers ?? []) observeQueueWorker(registry, worker)
  checks.push(...(running.checks ?? []))
  // The Node version too: a fleet mid-upgrade shows which pods run which runtime (also nodejs_version_info on /metrics).
  logger.info({ healthPort: health?.port ?? null, node: process.version }, `${role} started`)
  // A test setting that changes what plugins are promised: said at every start, so a fleet that has it by mistake shows it.
  if (config.timeScale !== 1)
    logger.warn(
      { timeScale: config.timeScale },
      `TIME_SCALE=${config.timeScale} is a test setting: runEvery* intervals and the delays of plugin job, setup and export retries and of the resident memory guard are ${config.timeScale} times shorter; unset it in production`,
    )
  if (config.unknownVariables.length > 0)
    logger.warn(
      { variables: config.unknownVariables },
      `variables set that plugin-server does not read, so their settings stay at the defaults (misspelt?): ${config.unknownVariables.join(', ')}`,
    )
  return { context, healthPort: health?.port ?? null, shutdown }
}
