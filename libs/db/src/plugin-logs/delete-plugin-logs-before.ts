import type { Pool } from 'pg'

/**
 * Deletes plugin log rows written before `cutoff` (PLUGIN_LOG_RETENTION_DAYS), oldest first, `batch`
 * rows per statement so no statement holds many row locks or runs long. It walks the primary key
 * from its start instead of searching by timestamp (no index has it first): ids are given out in
 * write order, so the old rows are the first ones. It stops at the first batch with no old row; a
 * newer row at the head (a writer whose clock runs ahead) only makes each statement delete fewer.
 * Answers how many rows went.
 */
export async function deletePluginLogsBefore(pool: Pool, cutoff: Date, batch = 10_000): Promise<number> {
  let deleted = 0
  for (;;) {
    const { rowCount } = await pool.query(
      `WITH head AS (SELECT id, timestamp FROM plugin_log_entries ORDER BY id LIMIT $2)
       DELETE FROM plugin_log_entries p USING head WHERE p.id = head.id AND head.timestamp < $1`,
      [cutoff, batch],
    )
    deleted += rowCount ?? 0
    if (!rowCount) return deleted
  }
}
