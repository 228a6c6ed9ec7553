import type { Pool } from 'pg'

/** Disables a config for the whole fleet, with the reason and the (serialized) error its users see. */
export async function disablePluginConfig(pool: Pool, pluginConfigId: number, reason: string, error: string): Promise<void> {
  await pool.query(`UPDATE plugin_configs SET enabled = false, disabled_reason = $2, error = $3, updated_at = now() WHERE id = $1`, [
    pluginConfigId,
    reason,
    error,
  ])
}
