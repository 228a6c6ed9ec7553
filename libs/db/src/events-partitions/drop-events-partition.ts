import type { Pool } from 'pg'
import { inTransaction } from '../in-transaction'
import { DAILY_PARTITION } from './events-partition-day'
import { lockEventsPartitions } from './events-partition-lock'

/**
 * Detaches and drops one partition with every event in it: retention, not a repair tool. Only daily
 * partitions and events_legacy qualify (never the default partition). DETACH takes the parent for
 * a moment (CONCURRENTLY is not allowed while a default partition exists). Answers false when it
 * was already gone.
 */
export async function dropEventsPartition(pool: Pool, name: string): Promise<boolean> {
  if (!DAILY_PARTITION.test(name) && name !== 'events_legacy')
    throw new Error(`dropEventsPartition: ${JSON.stringify(name)} is not a daily or legacy events partition`)
  return inTransaction(pool, async (client) => {
    await lockEventsPartitions(client)
    const { rows } = await client.query<{ attached: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = 'events'::regclass AND inhrelid = to_regclass($1)) AS attached`,
      [name],
    )
    if (!rows[0].attached) return false
    await client.query(`ALTER TABLE events DETACH PARTITION ${name}`)
    await client.query(`DROP TABLE ${name}`)
    return true
  })
}
