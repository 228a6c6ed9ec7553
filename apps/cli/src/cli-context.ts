import pino from 'pino'
import { Config, ConfigError, createLogger, createPool, createRedis, loadConfig, Logger, Pool } from '@plugin-server/core'
import type { ManagementContext } from '@plugin-server/management'
import { SecretBox } from '@plugin-server/secrets'
import { nameConnectionVariable } from './connection-errors'
import { printError } from './output'

/** Management commands print results on stdout and logs on stderr, so output stays pipeable. */
export function cliConfig(): Config {
  try {
    return loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message)
    throw err
  }
}

export function cliLogger(config: Config): Logger {
  return createLogger({ ...config, logFormat: process.stderr.isTTY ? 'pretty' : config.logFormat }).child({ cli: true })
}

export async function withPool<T>(fn: (pool: Pool, config: Config) => Promise<T>): Promise<T> {
  const config = cliConfig()
  const pool = createPool(config.databaseUrl, 2, cliLogger(config))
  try {
    return await fn(pool, config)
  } catch (err) {
    throw nameConnectionVariable(err, config)
  } finally {
    await pool.end()
  }
}

/**
 * A Redis client for a command that then builds BullMQ queues on it: Redis is asked first, with one
 * retry, so a Redis that is away fails the command at once naming REDIS_URL. A BullMQ queue waits for
 * its connection with no deadline: `queue failed` ran past a minute, printing ioredis' stacks.
 */
export async function reachableRedis(config: Config, name: string): Promise<ReturnType<typeof createRedis>> {
  const redis = createRedis(config.redisUrl, cliLogger(config), name, { maxRetriesPerRequest: 1 })
  try {
    await redis.ping()
    return redis
  } catch (err) {
    redis.disconnect()
    fail((nameConnectionVariable(err, config) as Error).message)
  }
}

export function fail(message: string): never {
  printError(`plugin-server: ${message}`)
  process.exit(1)
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/**
 * Pool and Redis for one management command. The logger writes to stderr so stdout stays pure
 * JSON; a Redis that does not answer fails the publish quickly instead of hanging the command.
 */
export async function withManagement<T>(fn: (ctx: ManagementContext, config: Config) => Promise<T>): Promise<T> {
  const config = cliConfig()
  const logger = pino({ level: config.logLevel, base: { pid: process.pid, cli: true } }, pino.destination(2))
  const pool = createPool(config.databaseUrl, 2, logger)
  const redis = createRedis(config.redisUrl, logger, 'cli-management', { maxRetriesPerRequest: 1, enableOfflineQueue: true })
  try {
    const secrets = new SecretBox(config.plugins.secretsKeys)
    return await fn({ pool, redis, queuePrefix: config.queuePrefix, logger, secrets, attachmentMaxBytes: config.plugins.attachmentMaxBytes }, config)
  } catch (err) {
    throw nameConnectionVariable(err, config)
  } finally {
    redis.disconnect()
    await pool.end()
  }
}
