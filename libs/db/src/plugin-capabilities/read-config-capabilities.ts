import type { Pool } from 'pg'
import type { PluginVersionCapabilities } from './plugin-version-capabilities'

/** The recorded capabilities of the version a config runs (its pin, or its plugin's current version); null when unknown or no such config. */
export async function readConfigCapabilities(pool: Pool, pluginConfigId: number): Promise<PluginVersionCapabilities | null> {
  const { rows } = await pool.query<{ capabilities: PluginVersionCapabilities | null }>(
    `SELECT v.capabilities FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id
     JOIN plugin_versions v ON v.plugin_id = c.plugin_id AND v.version = COALESCE(c.pinned_version, p.version)
     WHERE c.id = $1`,
    [pluginConfigId],
  )
  return rows[0]?.capabilities ?? null
}
