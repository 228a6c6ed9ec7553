import type { Pool } from 'pg'

/**
 * Deletes the plugin log rows `condition` picks (SQL of this package's on plugin_log_entries, never
 * input; `$2` its parameter), config by config, `batch` rows per statement so no statement holds
 * many row locks or runs long;
 * only the configs whose rows are `teamId`'s when it is given. The table has no team_id index and
 * its ids need not follow its timestamps, so the configs with rows are listed by a skip scan of the
 * (plugin_config_id, id) index — one probe per config, those of deleted configs too (their rows stay
 * for reading), each answering the team of its config's first row (a config's rows are all its
 * team's) — and each config's rows are then found by that config's own index entries. Answers how
 * many rows went.
 */
export async function deletePluginLogsWhere(pool: Pool, condition: string, param: unknown, batch: number, teamId: number | null = null): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `WITH RECURSIVE configs AS (
       (SELECT plugin_config_id AS id, team_id FROM plugin_log_entries ORDER BY plugin_config_id LIMIT 1)
       UNION ALL
       SELECT next.id, next.team_id FROM configs CROSS JOIN LATERAL (
         SELECT plugin_config_id AS id, team_id FROM plugin_log_entries WHERE plugin_config_id > configs.id ORDER BY plugin_config_id LIMIT 1
       ) next
     )
     SELECT id FROM configs WHERE $1::int IS NULL OR team_id = $1`,
    [teamId],
  )
  let deleted = 0
  for (const { id } of rows) {
    for (;;) {
      const { rowCount } = await pool.query(
        // ARRAY(…): the ids are found first, then deleted by the primary key; as `id IN (…)` the planner
        // hashed them and read the whole table once per statement. SKIP LOCKED: a replica deleting at
        // the same time takes other rows instead of waiting on its batch (and giving the config up).
        `DELETE FROM plugin_log_entries WHERE id = ANY(ARRAY(
           SELECT id FROM plugin_log_entries WHERE plugin_config_id = $1 AND ${condition} LIMIT $3 FOR UPDATE SKIP LOCKED
         ))`,
        [id, param, batch],
      )
      deleted += rowCount ?? 0
      // Fewer than a batch: the config's last such rows (or another replica took some of them; the next pass finishes).
      if ((rowCount ?? 0) < batch) break
    }
  }
  return deleted
}
