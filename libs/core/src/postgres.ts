import { Pool } from 'pg'
import type { Logger } from './logger'

export type { Pool }

/**
 * `applicationName` shows in pg_stat_activity, so a DBA (or a test) can tell which role holds which
 * connections; an application_name in the URL takes precedence.
 */
export function createPool(url: string, max: number, logger: Logger, applicationName?: string): Pool {
  const pool = new Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000, application_name: applicationName })
  // An idle client losing its connection (Postgres restart) must not crash the process; the pool replaces it.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'postgres idle client error'))
  return pool
}
