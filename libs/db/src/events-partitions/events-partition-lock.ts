import type { PoolClient } from 'pg'

/**
 * Every replica's maintenance may create or drop partitions at once: DDL on events runs one
 * transaction at a time (this transaction-level advisory lock), and each change re-checks the
 * catalogue under it. lock_timeout keeps a change that must wait for a long reader (DETACH needs
 * the parent to itself) from queueing every insert behind it for long; it is retried on the next pass.
 */
export async function lockEventsPartitions(client: PoolClient): Promise<void> {
  await client.query(`SET LOCAL lock_timeout = '5s'`)
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('events_partitions'))`)
}
