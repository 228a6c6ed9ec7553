import type { Pool } from 'pg'
import type { PluginVersionCapabilities } from './plugin-version-capabilities'

export interface ConfigVersion {
  teamId: number
  pluginName: string
  /** The version the config runs: its pin, or its plugin's current version. */
  version: number
  enabled: boolean
  /** Null when not learned yet. */
  capabilities: PluginVersionCapabilities | null
}

/** What a config runs, for a refusal that names the plugin and the version; null when no such config. */
export async function readConfigVersion(pool: Pool, pluginConfigId: number): Promise<ConfigVersion | null> {
  const { rows } = await pool.query<{ team_id: number; name: string; version: number; enabled: boolean; capabilities: PluginVersionCapabilities | null }>(
    `SELECT c.team_id, p.name, COALESCE(c.pinned_version, p.version) AS version, c.enabled, v.capabilities FROM plugin_configs c
     JOIN plugins p ON p.id = c.plugin_id
     LEFT JOIN plugin_versions v ON v.plugin_id = c.plugin_id AND v.version = COALESCE(c.pinned_version, p.version)
     WHERE c.id = $1`,
    [pluginConfigId],
  )
  const row = rows[0]
  return row ? { teamId: row.team_id, pluginName: row.name, version: row.version, enabled: row.enabled, capabilities: row.capabilities } : null
}
