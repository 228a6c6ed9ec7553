import type { Pool } from 'pg'

/** Its Redis state is gone: the record goes too. */
export async function forgetDeletedPluginConfig(pool: Pool, configId: number): Promise<void> {
  await pool.query('DELETE FROM deleted_plugin_configs WHERE plugin_config_id = $1', [configId])
}
