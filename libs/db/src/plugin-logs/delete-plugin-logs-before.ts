import type { Pool } from 'pg'

/**
 * Deletes plugin log rows written before `cutoff` (PLUGIN_LOG_RETENTION_DAYS), config by config,
 * `batch` rows per statement so no statement holds many row locks or runs long. Each config's old
 * rows are found by its (plugin_config_id, timestamp) index, wherever they are in id order: the pass
 * used to walk the primary key from its start and stop at the first batch with no old row, on the
 * claim that ids follow timestamps — but a row's timestamp is its writer's clock, so 10 000 rows of a
 * writer whose clock ran 3 days ahead at the head of the table stopped retention for good, with
 * every older row behind them kept. The configs are listed by a skip scan of the
 * (plugin_config_id, id) index: one index probe per config, those of deleted configs too (their
 * rows stay for reading). Answers how many rows went.
 */
export async function deletePluginLogsBefore(pool: Pool, cutoff: Date, batch = 10_000): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `WITH RECURSIVE configs AS (
       (SELECT plugin_config_id AS id FROM plugin_log_entries ORDER BY plugin_config_id LIMIT 1)
       UNION ALL
       SELECT (SELECT plugin_config_id FROM plugin_log_entries WHERE plugin_config_id > configs.id ORDER BY plugin_config_id LIMIT 1)
       FROM configs WHERE configs.id IS NOT NULL
     )
     SELECT id FROM configs WHERE id IS NOT NULL`,
  )
  let deleted = 0
  for (const { id } of rows) {
    for (;;) {
      const { rowCount } = await pool.query(
        // ARRAY(…): the ids are found first, then deleted by the primary key; as `id IN (…)` the planner
        // hashed them and read the whole table once per statement.
        `DELETE FROM plugin_log_entries WHERE id = ANY(ARRAY(
           SELECT id FROM plugin_log_entries WHERE plugin_config_id = $1 AND timestamp < $2 LIMIT $3
         ))`,
        [id, cutoff, batch],
      )
      deleted += rowCount ?? 0
      // Fewer than a batch: the config's last old rows (or another replica took some of them; the next pass finishes).
      if ((rowCount ?? 0) < batch) break
    }
  }
  return deleted
}
