import type { Redis } from 'ioredis'
import type { Pool } from 'pg'
import pino from 'pino'
import { parseSecretKeys } from '@plugin-server/core'
import type { ManagementContext } from '@plugin-server/management'
import { SecretBox } from '@plugin-server/secrets'

/**
 * Management operations the bench runs in its own process (installing fixtures, creating configs).
 * Its secrets box comes from this process's PLUGIN_SECRETS_KEYS, the value the roles it starts inherit.
 */
export function benchManagement(pool: Pool, redis: Redis, queuePrefix: string): ManagementContext {
  return { pool, redis, queuePrefix, logger: pino({ level: 'silent' }), secrets: new SecretBox(parseSecretKeys(process.env.PLUGIN_SECRETS_KEYS)) }
}
