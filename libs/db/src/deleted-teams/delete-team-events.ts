import type { Pool } from 'pg'
import { escapeIdentifier } from 'pg'
import { listEventsPartitions } from '../events-partitions/list-events-partitions'

/** undefined_table: retention dropped the partition meanwhile, with the team's rows in it. */
const UNDEFINED_TABLE = '42P01'

/**
 * Deletes a deleted team's events (no foreign key: they outlive its row), partition by partition and
 * `batch` rows per statement, so that no statement runs long or holds many row locks however many
 * events the team stored. Each statement walks the partition's (team_id, timestamp) index from where
 * the last one stopped and deletes what it found by ctid: without the ordered walk the planner reads
 * a partition the team fills much of sequentially, each statement from the start again over the
 * rows the earlier ones deleted (dead until vacuumed). `onBatch` hears each statement's count.
 * Answers how many rows went. Idempotent: an interrupted run is finished by the next one.
 */
export async function deleteTeamEvents(pool: Pool, teamId: number, batch = 10_000, onBatch?: (deleted: number) => void): Promise<number> {
  let deleted = 0
  for (const { name } of await listEventsPartitions(pool)) {
    const table = escapeIdentifier(name)
    // From the oldest timestamp; then from the last one deleted (its other rows, if any, come again: `>=`).
    let from: Date | null = null
    for (;;) {
      let rows: { deleted: string; last: Date | null }[]
      try {
        ;({ rows } = await pool.query<{ deleted: string; last: Date | null }>(
          `WITH found AS (
             SELECT ctid, timestamp FROM ${table} WHERE team_id = $1 AND ($2::timestamptz IS NULL OR timestamp >= $2) ORDER BY timestamp LIMIT $3
           ), gone AS (
             DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM found)) RETURNING 1
           )
           SELECT (SELECT count(*) FROM gone) AS deleted, (SELECT max(timestamp) FROM found) AS last`,
          [teamId, from, batch],
        ))
      } catch (err) {
        if ((err as { code?: unknown }).code === UNDEFINED_TABLE) break
        throw err
      }
      const count = Number(rows[0].deleted)
      deleted += count
      if (count > 0) onBatch?.(count)
      // Fewer than a batch: the partition's last rows of the team (or another pass took some; the next one finishes).
      if (count < batch) break
      from = rows[0].last
    }
  }
  return deleted
}
