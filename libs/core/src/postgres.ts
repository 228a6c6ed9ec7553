import { Pool } from 'pg'
import type { Logger } from './logger'

export type { Pool }

export interface PoolOptions {
  applicationName?: string
  /**
   * How long a query may go unanswered before it fails and its client is destroyed: a half-open
   * connection (packets dropped, no reset) otherwise holds its query, and whatever awaits it, for
   * good. Client-side (pg's query_timeout), not statement_timeout: that one is a startup parameter
   * PgBouncer refuses, and a server that does not answer cannot enforce it anyway.
   */
  queryTimeoutMs?: number
}

/**
 * `applicationName` shows in pg_stat_activity, so a DBA (or a test) can tell which role holds which
 * connections; an application_name in the URL takes precedence.
 */
export function createPool(url: string, max: number, logger: Logger, options: PoolOptions = {}): Pool {
  const pool = new Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    application_name: options.applicationName,
    query_timeout: options.queryTimeoutMs,
    // Without it a peer gone silently (a node lost, a NAT entry dropped) is noticed only after the OS's hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  })
  // An idle client losing its connection (Postgres restart) must not crash the process; the pool replaces it.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'postgres idle client error'))
  return pool
}
