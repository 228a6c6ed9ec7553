import { Pool } from 'pg'
import type { Logger } from './logger'

export type { Pool }

export function createPool(url: string, max: number, logger: Logger): Pool {
  const pool = new Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 })
  // An idle client losing its connection (Postgres restart) must not crash the process; the pool replaces it.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'postgres idle client error'))
  return pool
}
