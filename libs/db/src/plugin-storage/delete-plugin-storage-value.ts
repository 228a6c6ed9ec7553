import type { Pool } from 'pg'

export async function deletePluginStorageValue(pool: Pool, pluginConfigId: number, key: string): Promise<void> {
  await pool.query('DELETE FROM plugin_storage WHERE plugin_config_id = $1 AND key = $2', [pluginConfigId, key])
}
