import type { Pool, PoolClient } from 'pg'

/**
 * Runs `fn` in one transaction on one pooled client: committed when it resolves, rolled back when it throws.
 *
 * While a client is checked out, pg-pool no longer listens for its 'error' event, so a connection
 * lost mid-transaction (a Postgres restart or failover, `pg_terminate_backend`) would be emitted to
 * no one — an uncaught exception, which ends the process. The transaction listens instead: the
 * error fails its next query, and the client is destroyed, not pooled. So is a client whose ROLLBACK
 * failed (its query timed out on a connection that stopped answering): it still waits for the
 * answer that never came, and so would every query of its next user.
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  const lost = (err: Error): void => void (broken ??= err)
  client.on('error', lost)
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken ??= rollbackErr))
    throw err
  } finally {
    client.off('error', lost)
    client.release(broken)
  }
}
