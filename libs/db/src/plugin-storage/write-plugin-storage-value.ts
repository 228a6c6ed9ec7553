import type { Pool } from 'pg'

/** `json` is the value already serialized (stored as jsonb); a second write to the key replaces the first. */
export async function writePluginStorageValue(pool: Pool, pluginConfigId: number, key: string, json: string): Promise<void> {
  await pool.query(
    `INSERT INTO plugin_storage (plugin_config_id, key, value) VALUES ($1, $2, $3::jsonb)
     ON CONFLICT (plugin_config_id, key) DO UPDATE SET value = EXCLUDED.value`,
    [pluginConfigId, key, json],
  )
}
