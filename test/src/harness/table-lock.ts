import type { Pool } from 'pg'
import { eventually } from './fleet'

export interface TableLock {
  /** Commits the lock's transaction and returns its connection; once, however often it is called. */
  release(): Promise<void>
}

/** An ACCESS EXCLUSIVE lock on `table`, held from its own connection: every query that reads it waits. */
export async function lockTable(pool: Pool, table: string): Promise<TableLock> {
  const locker = await pool.connect()
  await locker.query('BEGIN')
  await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`)
  let released: Promise<void> | null = null
  return {
    release: () =>
      (released ??= locker.query('COMMIT').then(
        () => locker.release(),
        (err: Error) => locker.release(err),
      )),
  }
}

/**
 * Ends the server process of the first query starting with `sqlStart` that waits on a lock, once
 * there is one: that query fails as in a Postgres outage (57P01), which no timeout has to bring about.
 */
export async function endWaitingQuery(pool: Pool, sqlStart: string): Promise<void> {
  const pid = await eventually(
    `a query "${sqlStart}…" waiting on a lock`,
    async () =>
      (await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND starts_with(query, $1)`, [sqlStart])).rows[0]
        ?.pid,
    (found) => found !== undefined,
    10_000,
  )
  await pool.query('SELECT pg_terminate_backend($1)', [pid])
}
