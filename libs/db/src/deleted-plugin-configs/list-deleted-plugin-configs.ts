import type { Pool } from 'pg'
import type { DeletedPluginConfigRecord } from './deleted-plugin-config-record'

/** In id order after `afterId`, at most `limit`; only `ids` when given. */
export async function listDeletedPluginConfigs(
  pool: Pool,
  options: { afterId: number; limit: number; ids: readonly number[] | null },
): Promise<DeletedPluginConfigRecord[]> {
  const { rows } = await pool.query<DeletedPluginConfigRecord>(
    `SELECT plugin_config_id, team_id, plugin_id, deleted_at FROM deleted_plugin_configs
     WHERE plugin_config_id > $1 AND ($3::int[] IS NULL OR plugin_config_id = ANY($3::int[]))
     ORDER BY plugin_config_id LIMIT $2`,
    [options.afterId, options.limit, options.ids],
  )
  return rows
}
