import type Redis from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { createPool, createRedis, loadConfig, Pool, Role, RoleContext } from '@plugin-server/core'
import { TEST_SECURITY_ENV } from './security-env'

/**
 * A RoleContext for running a role's pieces inside the test process (no child process, no signal
 * handlers); `close` ends every connection it opened.
 */
export function testRoleContext(role: Role, env: Record<string, string>): RoleContext & { close: () => Promise<void> } {
  const config = loadConfig({ REDIS_URL: process.env.REDIS_URL, DATABASE_URL: process.env.DATABASE_URL, LOG_LEVEL: 'silent', ...TEST_SECURITY_ENV, ...env })
  const logger = pino({ level: config.logLevel })
  const connections: Redis[] = []
  let pool: Pool | null = null
  return {
    role,
    config,
    logger,
    registry: new Registry(),
    newRedisConnection: (purpose, options) => {
      const connection = createRedis(config.redisUrl, logger, `test:${purpose}`, options)
      connections.push(connection)
      return connection
    },
    closeRedisConnection: async (connection) => {
      if (connections.includes(connection)) connections.splice(connections.indexOf(connection), 1)
      connection.disconnect()
    },
    pool: () => (pool ??= createPool(config.databaseUrl, 5, logger, { queryTimeoutMs: config.pgQueryTimeoutMs })),
    close: async () => {
      connections.forEach((c) => c.disconnect())
      await pool?.end()
    },
  }
}
