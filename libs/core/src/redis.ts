import Redis, { RedisOptions } from 'ioredis'
import type { Logger } from './logger'

/** ioredis' reconnectOnError answers: reconnect, and also send the failed command again. */
const RECONNECT = 1
const RECONNECT_AND_RESEND = 2
const READONLY_LOG_INTERVAL_MS = 30_000
/**
 * Resends within this window before a READONLY reaches the caller: a failover's new primary answers
 * within a few reconnects, a node that stays a replica (a DNS name that lags, REDIS_URL naming a
 * replica) never does, and its writes must fail (capture's 503, the workers' backoff) rather than hang.
 */
const READONLY_RESENDS = 3
const READONLY_RESEND_WINDOW_MS = 10_000

/** Redis replies that say the server cannot take the command now (full, a replica, loading, busy), whatever the command was. */
const REFUSALS = /(?:^|-)(OOM|READONLY|LOADING|MASTERDOWN|MISCONF|BUSY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS)\b/

/** Whether Redis refused a command for its own state, not the command's: the caller's retry, once Redis is back, succeeds. */
export function isRedisRefusal(err: Error): boolean {
  return REFUSALS.test(err.message)
}

/** A write to a replica, or a script that writes (BullMQ's) run on one. */
export function isReadOnlyError(err: Error): boolean {
  return err.message.startsWith('READONLY') || err.message.includes(' READONLY ')
}

/**
 * BullMQ workers block on Redis and must never give up a command, hence `maxRetriesPerRequest: null`;
 * reconnects back off to one second so a restarted Redis is picked up quickly. A READONLY answer
 * means the node behind the address was demoted (a managed failover moves the DNS name, the open
 * connection stays on the old primary): the connection is made again, to the new primary, and the
 * command resent, instead of every write failing until the pod restarts; a node that keeps answering
 * READONLY gets its commands rejected after READONLY_RESENDS resends in READONLY_RESEND_WINDOW_MS.
 */
export function createRedis(url: string, logger: Logger, name: string, overrides: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    reconnectOnError: (err) => {
      if (!isReadOnlyError(err)) return false
      // Commands in flight each answer READONLY, and a DNS name still on the old node does again
      // after each reconnect: one line per connection and interval, counting them.
      readOnlyAnswers++
      if (Date.now() - readOnlyLoggedAt >= READONLY_LOG_INTERVAL_MS) {
        logger.warn(
          { err: err.message, connection: name, answers: readOnlyAnswers },
          'Redis answered READONLY: connected to a replica (failover?), reconnecting',
        )
        readOnlyLoggedAt = Date.now()
        readOnlyAnswers = 0
      }
      const now = Date.now()
      resends = resends.filter((at) => now - at < READONLY_RESEND_WINDOW_MS)
      if (resends.length >= READONLY_RESENDS) return RECONNECT
      resends.push(now)
      return RECONNECT_AND_RESEND
    },
    ...overrides,
  })
  let wasDown = false
  let readOnlyLoggedAt = 0
  let readOnlyAnswers = 0
  let resends: number[] = []
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
