import type { PoolClient } from 'pg'

export interface CurrentPluginVersion {
  id: number
  name: string
  version: number
  previous_version: number
}

/**
 * Copies a stored version into the plugin's row, which is what configs without a pin run. The
 * plugin row is locked first so the version it replaces is reported exactly. Answers null when the
 * plugin has no such version.
 */
export async function makePluginVersionCurrent(client: PoolClient, pluginId: number, version: number): Promise<CurrentPluginVersion | null> {
  const { rows: before } = await client.query<{ version: number }>('SELECT version FROM plugins WHERE id = $1 FOR UPDATE', [pluginId])
  if (!before[0]) return null
  const { rows } = await client.query<{ id: number; name: string; version: number }>(
    `UPDATE plugins p SET description = COALESCE(v.plugin_json->>'description', ''), url = v.plugin_json->>'url', plugin_json = v.plugin_json,
       config_schema = COALESCE(v.plugin_json->'config', '[]'::jsonb), source = v.source, content_hash = v.content_hash, version = v.version, updated_at = now()
     FROM plugin_versions v WHERE p.id = $1 AND v.plugin_id = p.id AND v.version = $2
     RETURNING p.id, p.name, p.version`,
    [pluginId, version],
  )
  return rows[0] ? { ...rows[0], previous_version: before[0].version } : null
}
