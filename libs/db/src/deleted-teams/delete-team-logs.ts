import type { Pool } from 'pg'

/**
 * Deletes a deleted team's plugin log rows (kept for reading after a config's delete, so without a
 * foreign key). The table has no team_id index: its configs are found by a skip scan of the
 * (plugin_config_id, id) index, one probe per config with rows, each answering the team of its
 * config's first row (a config's rows are all its team's) — configs deleted long before the team
 * included. Then `batch` rows per statement, config by config. Answers how many rows went.
 */
export async function deleteTeamLogs(pool: Pool, teamId: number, batch = 10_000): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `WITH RECURSIVE configs AS (
       (SELECT plugin_config_id AS id, team_id FROM plugin_log_entries ORDER BY plugin_config_id LIMIT 1)
       UNION ALL
       SELECT next.id, next.team_id FROM configs CROSS JOIN LATERAL (
         SELECT plugin_config_id AS id, team_id FROM plugin_log_entries WHERE plugin_config_id > configs.id ORDER BY plugin_config_id LIMIT 1
       ) next
     )
     SELECT id FROM configs WHERE team_id = $1`,
    [teamId],
  )
  let deleted = 0
  for (const { id } of rows) {
    for (;;) {
      const { rowCount } = await pool.query(
        // As in deletePluginLogsBefore: ids first, then deleted by the primary key.
        `DELETE FROM plugin_log_entries WHERE id = ANY(ARRAY(SELECT id FROM plugin_log_entries WHERE plugin_config_id = $1 AND team_id = $2 LIMIT $3))`,
        [id, teamId, batch],
      )
      deleted += rowCount ?? 0
      if ((rowCount ?? 0) < batch) break
    }
  }
  return deleted
}
