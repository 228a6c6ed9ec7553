import { toPostgresJson } from '@plugin-server/core'
import type { Pool } from 'pg'

/**
 * `error` is the already-serialized JSON shown to the config's users (redacted by the caller), or null
 * to clear it. A plugin's message may hold NULs or lone surrogates, which jsonb refuses: taken out.
 */
export async function setPluginConfigError(pool: Pool, pluginConfigId: number, error: string | null): Promise<void> {
  await pool.query('UPDATE plugin_configs SET error = $2 WHERE id = $1', [pluginConfigId, error === null ? null : toPostgresJson(error)])
}
