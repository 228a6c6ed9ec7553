import { toPostgresJson, toPostgresText } from '@plugin-server/core'
import type { Pool } from 'pg'

/**
 * Disables a config for the whole fleet, with the reason and the (serialized) error its users see.
 * Both may quote a plugin's error message: its NULs and lone surrogates are taken out, or Postgres
 * refused the update, the config stayed enabled, and every batch of its team failed setting it up again.
 */
export async function disablePluginConfig(pool: Pool, pluginConfigId: number, reason: string, error: string): Promise<void> {
  await pool.query(`UPDATE plugin_configs SET enabled = false, disabled_reason = $2, error = $3, updated_at = now() WHERE id = $1`, [
    pluginConfigId,
    toPostgresText(reason),
    toPostgresJson(error),
  ])
}
