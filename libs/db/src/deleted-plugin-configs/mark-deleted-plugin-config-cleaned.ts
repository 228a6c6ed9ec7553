import type { Pool } from 'pg'

/** A cleanup of it finished: later passes leave it alone until its grace is over. */
export async function markDeletedPluginConfigCleaned(pool: Pool, configId: number): Promise<void> {
  await pool.query('UPDATE deleted_plugin_configs SET cleaned_at = coalesce(cleaned_at, now()) WHERE plugin_config_id = $1', [configId])
}
