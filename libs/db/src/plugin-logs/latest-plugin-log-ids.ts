import type { Pool } from 'pg'

/**
 * The newest log row id of each config (0 for a config without rows), one index probe per config:
 * what long-polling readers compare their cursor with.
 */
export async function latestPluginLogIds(pool: Pool, configIds: readonly number[]): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ config_id: number; max_id: number }>(
    `SELECT c AS config_id, COALESCE((SELECT max(id) FROM plugin_log_entries WHERE plugin_config_id = c), 0)::float8 AS max_id
     FROM unnest($1::int[]) AS c`,
    [configIds],
  )
  return new Map(rows.map((r) => [r.config_id, r.max_id]))
}
