import type { Pool } from 'pg'
import { inTransaction } from '../in-transaction'
import { addDays, eventsPartitionName, utcDayStart } from './events-partition-day'
import { lockEventsPartitions } from './events-partition-lock'

export interface CreatedEventsPartition {
  name: string
  /** false: it existed already (another replica made it). */
  created: boolean
  /** Rows of its day moved out of events_default into it. */
  movedRows: number
}

/**
 * The partition of one UTC day. Rows of that day already in events_default (stored while no
 * partition covered it) are moved into the new table before it is attached: Postgres refuses to
 * attach a range the default partition holds rows of. The default partition is locked first, and
 * at once in the mode ATTACH will need (ACCESS EXCLUSIVE): no row of that day can land there
 * between the move and the attach, and no lock is upgraded midway — an insert holds the default
 * partition for its lookup of stored uuids and then wants to write to it, so a weaker lock taken
 * here and strengthened by ATTACH deadlocks with it. Inserts wait for this transaction (milliseconds
 * while the default partition is small).
 */
export async function createEventsPartition(pool: Pool, day: Date): Promise<CreatedEventsPartition> {
  const name = eventsPartitionName(day)
  const from = utcDayStart(day)
  const to = addDays(from, 1)
  return inTransaction(pool, async (client) => {
    await lockEventsPartitions(client)
    const { rows } = await client.query<{ exists: boolean; has_default: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AS exists, to_regclass('events_default') IS NOT NULL AS has_default`,
      [name],
    )
    if (rows[0].exists) return { name, created: false, movedRows: 0 }
    if (rows[0].has_default) await client.query('LOCK TABLE events_default IN ACCESS EXCLUSIVE MODE')
    await client.query(`CREATE TABLE ${name} (LIKE events INCLUDING DEFAULTS)`)
    let movedRows = 0
    if (rows[0].has_default) {
      const moved = await client.query(
        `WITH moved AS (DELETE FROM events_default WHERE timestamp >= $1 AND timestamp < $2 RETURNING *) INSERT INTO ${name} SELECT * FROM moved`,
        [from, to],
      )
      movedRows = moved.rowCount ?? 0
    }
    await client.query(`ALTER TABLE events ATTACH PARTITION ${name} FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`)
    return { name, created: true, movedRows }
  })
}
