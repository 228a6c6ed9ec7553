import Redis, { RedisOptions } from 'ioredis'
import type { Logger } from './logger'

/**
 * BullMQ workers block on Redis and must never give up a command, hence `maxRetriesPerRequest: null`;
 * reconnects back off to one second so a restarted Redis is picked up quickly.
 */
export function createRedis(url: string, logger: Logger, name: string, overrides: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    ...overrides,
  })
  let wasDown = false
  redis.on('error', (err: Error) => {
    if (!wasDown) logger.warn({ err: err.message, connection: name }, 'redis connection error')
    wasDown = true
  })
  redis.on('ready', () => {
    if (wasDown) logger.info({ connection: name }, 'redis connection restored')
    wasDown = false
  })
  return redis
}
