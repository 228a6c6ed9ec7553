import type { Pool } from 'pg'

/** `{ found: false }` when the key is not set, so a stored null stays distinguishable from a missing key. */
export async function readPluginStorageValue(pool: Pool, pluginConfigId: number, key: string): Promise<{ found: true; value: unknown } | { found: false }> {
  const { rows } = await pool.query<{ value: unknown }>('SELECT value FROM plugin_storage WHERE plugin_config_id = $1 AND key = $2', [pluginConfigId, key])
  return rows.length === 0 ? { found: false } : { found: true, value: rows[0].value }
}
