import type { Pool } from 'pg'
import type { DeletedPluginConfigRecord } from './deleted-plugin-config-record'

/**
 * In id order after `afterId`, at most `limit`; only `ids` when given, else only those due: not
 * cleaned yet, or deleted at least `graceMs` ago (their last cleanup).
 */
export async function listDeletedPluginConfigs(
  pool: Pool,
  options: { afterId: number; limit: number; ids: readonly number[] | null; graceMs: number },
): Promise<DeletedPluginConfigRecord[]> {
  const { rows } = await pool.query<DeletedPluginConfigRecord>(
    `SELECT plugin_config_id, team_id, plugin_id, deleted_at, cleaned_at FROM deleted_plugin_configs
     WHERE plugin_config_id > $1
       AND CASE WHEN $3::int[] IS NULL THEN cleaned_at IS NULL OR deleted_at <= now() - $4 * interval '1 millisecond'
           ELSE plugin_config_id = ANY($3::int[]) END
     ORDER BY plugin_config_id LIMIT $2`,
    [options.afterId, options.limit, options.ids, options.graceMs],
  )
  return rows
}
