import type { Pool, PoolClient } from 'pg'

/** Runs `fn` in one transaction on one pooled client: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  // A client whose ROLLBACK failed (its query timed out on a connection that stopped answering) is
  // destroyed, not pooled: it still waits for the answer that never came, and so would every query of its next user.
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr))
    throw err
  } finally {
    client.release(broken)
  }
}
